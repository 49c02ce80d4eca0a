"""Alembic migrations of the catalog; run by `catalog.schema.upgrade`, never by hand."""
