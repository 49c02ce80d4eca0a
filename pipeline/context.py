"""What every step of the application works with: the settings and the open catalog."""

from __future__ import annotations

from dataclasses import dataclass

from catalog import Catalog
from config import Settings
from media.ingest import WorkspaceDirs


@dataclass(frozen=True)
class Context:
    settings: Settings
    catalog: Catalog

    @property
    def dirs(self) -> WorkspaceDirs:
        return WorkspaceDirs.under(self.settings.workspace)

    @classmethod
    def open(cls, settings: Settings) -> Context:
        WorkspaceDirs.under(settings.workspace).inbox.mkdir(parents=True, exist_ok=True)
        return cls(settings=settings, catalog=open_catalog(settings))

    def close(self) -> None:
        self.catalog.close()


def open_catalog(settings: Settings) -> Catalog:
    """The workspace's catalog, with its paths resolved against the workspace as mounted now."""
    return Catalog(settings.catalog_url, settings.workspace)
