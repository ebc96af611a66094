"""What every use case needs from the outside world, passed explicitly."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from service.core.clock import utcnow
from service.core.db import SessionFactory, UnitOfWork, read_connection
from service.core.settings import Settings
from service.core.storage import ObjectStorage


@dataclass
class Context:
    """Settings, the session factory and adapters; built once by the app, or by a test."""

    settings: Settings
    session_factory: SessionFactory
    storage: ObjectStorage | None = None
    # Sessions outside a transaction, for reads that need none (the caller, on every
    # request): no BEGIN and ROLLBACK round trips. Without one, lookups use session_factory.
    lookup_factory: SessionFactory | None = None
    # Sessions on the read replica (DATABASE_READ_URL), for statistics and exports; without
    # one, replica reads go to the primary.
    replica_factory: SessionFactory | None = None
    clock: Callable[[], datetime] = utcnow
    # Adapters added by later slices (storage, senders) live here by name.
    adapters: dict[str, Any] = field(default_factory=dict)

    def uow(self, *, bookkeeping: bool = False) -> UnitOfWork:
        """A fresh unit of work that may write (on SQLite it queues for the write lock);
        `bookkeeping` for writes that are no part of the request's own (see `commit_hook`)."""
        return UnitOfWork(self.session_factory, bookkeeping=bookkeeping)

    def read(self, *, replica: bool = False) -> UnitOfWork:
        """A unit of work that only reads: it never waits for a writer and cannot commit.

        `replica=True` reads from the read replica when there is one: only for reads that
        may lag the primary (statistics, exports), never one that must see its own write."""
        return UnitOfWork(self._replica_or_primary(replica), writes=False)

    def lookup(self) -> UnitOfWork:
        """A unit of work for a read that needs no transaction (one statement)."""
        return UnitOfWork(self.lookup_factory or self.session_factory, writes=False)

    def read_connection(self, *, replica: bool = False) -> AbstractContextManager[Connection]:
        """A bare connection for a read that needs no transaction and no session (`replica`
        as for `read`)."""
        if replica and self.replica_factory is not None:
            return read_connection(self.replica_factory)
        return read_connection(self.lookup_factory or self.session_factory)

    def _replica_or_primary(self, replica: bool) -> SessionFactory:
        if replica and self.replica_factory is not None:
            return self.replica_factory
        return self.session_factory

    def now(self) -> datetime:
        """The current time (replaceable in tests)."""
        return self.clock()
