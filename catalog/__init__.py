"""The one catalog: footage, transcripts, subtitles and everything later stages add.

SQLite in the workspace by default, PostgreSQL when several machines share the work. `flows/`
and `channels/` both use it; nothing here imports Prefect or reads settings.
"""

from catalog.store import Catalog

__all__ = ["Catalog"]
