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


def open_store(db: str | os.PathLike[str] | None = None, *, create: bool = True) -> Store:
    """Open (and create or upgrade) the store named by a path or a `mysql://` URL.

    `create=False` refuses to create a new SQLite file (for commands that only read).
    Raises StoreError when the database cannot be opened.
    """
    from tuilabel.store.target import MySQLTarget, parse_target

    target = parse_target(str(db) if db is not None else default_db())
    if isinstance(target, MySQLTarget):
        from tuilabel.store.mysql import MySQLStore

        return MySQLStore.from_url(str(db) if db is not None else default_db(), create=create)
    from tuilabel.store.sqlite import SQLiteStore

    path = Path(target.path)
    if not create and not path.exists():
        raise StoreError(f"no database at {path}: run `tuilabel label` or `tuilabel load` first")
    return SQLiteStore(path)
