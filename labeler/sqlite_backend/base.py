"""Django's SQLite backend with its writers queued (write_queue.py) instead of polling."""

from __future__ import annotations

from contextlib import nullcontext

from django.db.backends.sqlite3 import base

from labeler.sqlite_backend.write_queue import WriteQueue

# Statements that write when run on their own, outside a transaction (Model.save of one table,
# QuerySet.update): SQLite takes the write lock for them too.
WRITING = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")


class QueuedWriteCursor(base.SQLiteCursorWrapper):
    """Takes the connection's turn around a statement that writes outside a transaction."""

    def __init__(self, connection, queue: WriteQueue | None) -> None:
        super().__init__(connection)
        self.write_queue = queue

    def _turn(self, query: str):
        """The connection's turn for a statement that writes on its own; nothing otherwise."""
        alone_writing = (
            self.write_queue is not None
            and not self.connection.in_transaction
            and query.lstrip()[:7].upper().startswith(WRITING)
        )
        return self.write_queue.turn() if alone_writing else nullcontext()

    def execute(self, query, params=None):
        with self._turn(query):
            return super().execute(query, params)

    def executemany(self, query, param_list):
        with self._turn(query):
            return super().executemany(query, param_list)


class DatabaseWrapper(base.DatabaseWrapper):
    write_queue: WriteQueue | None = None

    def get_new_connection(self, conn_params):
        connection = super().get_new_connection(conn_params)
        if self.write_queue is not None:
            self.write_queue.close()
        # An in-memory database lives in one process, and a URI ("file:...?mode=...") is not a
        # path to put a lock file beside: both keep SQLite's own busy handler alone.
        name = str(conn_params["database"])
        plain_file = not (self.is_in_memory_db() or name.startswith("file:"))
        self.write_queue = WriteQueue(f"{name}-writers") if plain_file else None
        return connection

    def create_cursor(self, name=None):
        return self.connection.cursor(
            factory=lambda connection: QueuedWriteCursor(connection, self.write_queue)
        )

    def _start_transaction_under_autocommit(self):
        if self.write_queue is None:
            return super()._start_transaction_under_autocommit()
        self.write_queue.take()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.write_queue.give()
            raise

    def _transaction_end(self, end) -> None:
        try:
            end()
        finally:
            ended = self.connection is None or not self.connection.in_transaction
            if self.write_queue is not None and ended:
                self.write_queue.give()

    def _commit(self):
        self._transaction_end(super()._commit)

    def _rollback(self):
        self._transaction_end(super()._rollback)

    def _close(self):
        try:
            super()._close()
        finally:
            if self.write_queue is not None:
                self.write_queue.close()
                self.write_queue = None
