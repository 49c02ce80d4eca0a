"""The catalog on a real PostgreSQL (psycopg 3): migrated from nothing to the code's tables by
the same Alembic revisions as SQLite, and used through the same calls."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine

from catalog import schema
from catalog.models import NewFootage
from catalog.store import Catalog
from catalog.tables import Base
from pipeline.status import status_report


def test_migrations_build_the_tables_on_postgresql(fresh_database: str, tmp_path: Path) -> None:
    engine = create_engine(fresh_database)
    try:
        applied = schema.upgrade(engine, tmp_path)
        assert applied[0] == schema.BASELINE and applied[-1] == schema.HEAD
        assert schema.upgrade(engine, tmp_path) == []  # at head: nothing more
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, Base.metadata) == []
    finally:
        engine.dispose()


def test_the_catalog_works_on_postgresql(fresh_database: str, tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    catalog = Catalog(fresh_database, workspace)
    try:
        footage_id = catalog.record_footage(
            NewFootage(
                sha256="ab" * 32,
                source_name="интервью.mp4",
                status="ingested",
                path=workspace / "library" / "ab.mp4",
                library_path=workspace / "library" / "ab.mp4",
            )
        )
        catalog.mark_footage(footage_id, "processed", "", by="worker-2")
        record = catalog.footage(footage_id)
        assert record.processed_by == "worker-2" and record.source_name == "интервью.mp4"
        assert record.library_path == workspace / "library" / "ab.mp4"
        report = status_report(catalog)
        assert report.footage[0].processed_by == "worker-2"
        assert "***" in catalog.address and "postgresql" in catalog.address
    finally:
        catalog.close()
