"""The one catalog: footage, transcripts, subtitles, clips, the ledger, partners.

SQLite in the workspace by default, PostgreSQL when several machines share the work; the schema
is managed by Alembic (`catalog/migrations`). Typed records (`catalog.models`) cross its door;
nothing here imports Prefect or reads settings.
"""

from catalog.store import Catalog

__all__ = ["Catalog"]
