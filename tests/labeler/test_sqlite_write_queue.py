"""SQLite writers queue for the write lock (labeler/sqlite_backend): on a database of their own,
so these run whichever database the suite uses."""

from __future__ import annotations

import fcntl
import os
import threading
import time

import pytest
from django.db.utils import ConnectionHandler

from labeler.services.write_batches import writers_let_in
from labeler.sqlite_backend.write_queue import WriteQueue


@pytest.fixture
def unblocked(django_db_blocker):
    """Connections of our own, outside the suite's test database."""
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path, unblocked):
    """A fresh SQLite file with one table, and a way to open connections to it."""
    handler_settings = {
        "ENGINE": "labeler.sqlite_backend",
        "NAME": str(tmp_path / "queue.sqlite3"),
        "OPTIONS": {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
    opened = []

    def connect():
        connection = ConnectionHandler({"default": dict(handler_settings)})["default"]
        opened.append(connection)
        return connection

    first = connect()
    with first.cursor() as cursor:
        cursor.execute("CREATE TABLE answer (id INTEGER PRIMARY KEY, writer TEXT)")
    yield connect
    for connection in opened:
        if connection.connection is not None:  # the threads' own are closed by them
            connection.close()


def write(connection, writer: str, *, holding_s: float = 0.0) -> None:
    """One write transaction, as `transaction.atomic` runs it on SQLite."""
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO answer (writer) VALUES (%s)", [writer])
        time.sleep(holding_s)  # the lock held a while, as a large batch holds it
        connection.commit()
    finally:
        connection.set_autocommit(True)


def lock_free(path: str) -> bool:
    probe = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False
    finally:
        os.close(probe)


def test_an_answer_waiting_goes_in_before_the_background_writers_next_batch(database, monkeypatch):
    """A background writer commits a batch and, after `writers_let_in`, starts the next one, as
    the retrain writes its scores. The answer that waited for the first batch must go before
    the second: with SQLite's busy handler alone it slept through the gap (it polls in steps
    growing to 100 ms), and the retrain's writes kept it out batch after batch."""
    background = database()
    background.ensure_connection()
    waiting = threading.Event()
    take = WriteQueue.take

    def announced(queue):
        if threading.current_thread() is not threading.main_thread():
            waiting.set()
        take(queue)

    monkeypatch.setattr(WriteQueue, "take", announced)

    def answer():
        connection = database()
        write(connection, "answer")
        connection.close()

    background.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    with background.cursor() as cursor:
        cursor.execute("INSERT INTO answer (writer) VALUES ('first batch')")
    answering = threading.Thread(target=answer)
    answering.start()
    try:
        assert waiting.wait(timeout=30), "the answer never asked for the lock"
        background.commit()
        background.set_autocommit(True)
        writers_let_in(background)
        write(background, "second batch")
    finally:
        answering.join(timeout=60)
    with background.cursor() as cursor:
        cursor.execute("SELECT writer FROM answer ORDER BY id")
        order = [row[0] for row in cursor.fetchall()]
    assert order == ["first batch", "answer", "second batch"]


def test_the_lock_is_held_for_the_transaction_and_given_back_at_its_end(database):
    connection = database()
    connection.ensure_connection()
    path = connection.write_queue.path
    assert lock_free(path)
    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    assert not lock_free(path)
    connection.commit()
    connection.set_autocommit(True)
    assert lock_free(path)

    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    connection.rollback()
    connection.set_autocommit(True)
    assert lock_free(path)

    connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)
    connection.close()  # a worker's connection closed mid-transaction
    assert lock_free(path)


def test_a_write_outside_a_transaction_takes_its_turn_and_a_read_does_not(database, monkeypatch):
    connection = database()
    connection.ensure_connection()
    turns = []
    take = WriteQueue.take

    def counted(queue):
        turns.append(queue.path)
        take(queue)

    monkeypatch.setattr(WriteQueue, "take", counted)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM answer")
        assert turns == []
        cursor.execute("UPDATE answer SET writer = 'x'")  # as QuerySet.update runs it
        cursor.executemany("INSERT INTO answer (writer) VALUES (%s)", [["a"], ["b"]])
    assert len(turns) == 2
    assert lock_free(connection.write_queue.path)


def test_a_forked_child_queues_behind_its_parent(tmp_path):
    queue = WriteQueue(str(tmp_path / "db-writers"))
    queue.take()
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # the child: its inherited file shares the parent's lock, so it opens its own
        try:
            queue.take()
            os.write(write_end, b"took")
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        os.set_blocking(read_end, False)
        with pytest.raises(BlockingIOError):
            os.read(read_end, 4)  # the child has not taken it while the parent holds it
        queue.give()
        os.set_blocking(read_end, True)
        assert os.read(read_end, 4) == b"took"
    finally:
        os.waitpid(child, 0)
        os.close(read_end)
        queue.close()


def test_an_in_memory_database_has_no_queue(unblocked):
    connection = ConnectionHandler(
        {"default": {"ENGINE": "labeler.sqlite_backend", "NAME": ":memory:"}}
    )["default"]
    connection.ensure_connection()
    assert connection.write_queue is None
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        cursor.execute("INSERT INTO t DEFAULT VALUES")
    connection.close()
