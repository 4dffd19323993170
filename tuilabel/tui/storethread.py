"""One thread that owns the Store: every database call of the TUI runs on it, in order.

Store objects are single-thread (an SQLite connection belongs to the thread that opened it), and
the rating calls must run in the order the keys were pressed (a rating, then its undo). A
single-worker executor gives both: the Store is opened on that thread and each call is queued
behind the previous one. The UI awaits the returned futures inside Textual workers, so it never
blocks on the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from tuilabel.store.base import Store

T = TypeVar("T")


class StoreThread:
    """A Store opened on, and used only from, one dedicated thread."""

    def __init__(self, opener: Callable[[], Store]) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tuilabel-store")
        self._closed = False
        # Raises (StoreError) here, in the caller, when the database cannot be opened.
        self.store: Store = self._executor.submit(opener).result()
        self.name = self.store.name

    def submit(self, fn: Callable[[Store], T]) -> Future[T]:
        """Queue `fn(store)` behind every call submitted before it."""
        return self._executor.submit(fn, self.store)

    def call(self, fn: Callable[[Store], T]) -> T:
        """Run `fn(store)` on the store thread and wait for it (start-up and tests only)."""
        return self.submit(fn).result()

    async def run(self, fn: Callable[[Store], T]) -> T:
        """Await `fn(store)` from the event loop without blocking it."""
        return await asyncio.wrap_future(self.submit(fn))

    def close(self) -> None:
        """Finish the queued calls, close the Store, stop the thread. Idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            self._executor.submit(lambda: self.store.close()).result()
        finally:
            self._executor.shutdown(wait=True)


def open_store_thread(db: str | None) -> StoreThread:
    """The store named by `db`, opened on its own thread. Never creates an SQLite file."""
    from tuilabel.store import open_store

    return StoreThread(lambda: open_store(db, create=False))
