"""The store: one interface (`Store`), two backends, one factory (`open_store`)."""

from __future__ import annotations

import os
from pathlib import Path

from tuilabel.errors import StoreError
from tuilabel.store.base import (
    MAX_K,
    VERDICTS,
    Failure,
    Image,
    NewImage,
    RatedImage,
    Stats,
    Store,
)

__all__ = [
    "MAX_K",
    "VERDICTS",
    "Failure",
    "Image",
    "NewImage",
    "RatedImage",
    "Stats",
    "Store",
    "StoreError",
    "default_db",
    "open_store",
]

DEFAULT_DB = "tuilabel.db"


def default_db() -> str:
    """The database used when none is named: $TUILABEL_DB, else tuilabel.db here."""
    return os.environ.get("TUILABEL_DB") or DEFAULT_DB


def open_store(db: str | os.PathLike[str] | None = None, *, create: bool = True,
               read_only: bool = False) -> Store:
    """Open (and create or upgrade) the store named by a path or a `mysql://` URL.

    `create=False` refuses to create a new database (for commands that do not label).
    `read_only=True` (stats, export, roc; implies create=False) never writes: SQLite is
    opened with `mode=ro` (`immutable=1` on a read-only file system) and an empty file is
    refused, not given a schema; a MySQL session is made READ ONLY. An older database that
    needs an upgrade is still upgraded where it can be written.
    Raises StoreError when the database cannot be opened.
    """
    create = create and not read_only
    from tuilabel.store.target import MySQLTarget, parse_target

    target = parse_target(str(db) if db is not None else default_db())
    if isinstance(target, MySQLTarget):
        from tuilabel.store.mysql import MySQLStore

        return MySQLStore.from_url(str(db) if db is not None else default_db(), create=create,
                                   read_only=read_only)
    from tuilabel.store.sqlite import SQLiteStore

    path = Path(target.path)
    if not create and not path.exists():
        raise StoreError(f"no database at {path}: run `tuilabel label` or `tuilabel load` first")
    return SQLiteStore(path, read_only=read_only)
