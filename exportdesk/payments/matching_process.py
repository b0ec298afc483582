"""Matching a large statement in a second process, side by side with the import.

A statement of thousands of credits spends most of its import in two long stretches of Python:
the matcher loading and deciding every credit in turn (which has to run in order: a credit
confirmed for an order leaves only the rest of its balance to the next), and the confirmations
writing deposits, journal entries and contact history. One process does them one after the
other; with a helper process they overlap: the helper loads the matcher while the import parses
and stores the file, then decides the credits and sends its decisions in batches, which the
import confirms while the helper decides the next.

The helper only reads (open orders and pending declarations, committed before the import began)
and decides; every write stays in the import's one transaction, so the import is as atomic as
without it. It is started only for a large file and only where it sees what the import sees:
not inside a transaction that is already open (the import's caller may have written orders the
helper could not see yet). If it cannot start, fails or stops, the import matches by itself.

The helper is a copy of the importing process (fork) when that process runs no other thread (the
import command, a worker): it starts at once, Django already set up. Under a threaded web server
another thread may hold a lock at the moment of the copy that nobody would release in it, so
there the helper is a fresh interpreter (spawn) that sets Django up again (about 0.7 s). Either
way it opens a database connection of its own.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import signal
import threading
import traceback
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, Literal

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils import translation
from django.utils.translation import get_language

if TYPE_CHECKING:
    from exportdesk.payments.imports import AutoConfirm, Decisions
    from exportdesk.payments.matching import CreditFacts

logger = logging.getLogger(__name__)

# Below this size a statement holds a few hundred entries at most: starting an interpreter
# (about 0.7 s) would cost more than matching them in the import's own process.
MIN_STATEMENT_BYTES = 256 * 1024
# Decisions come back this many credits at a time: small enough for the import to confirm one
# batch while the next is decided, large enough to keep each batch's fixed queries rare.
BATCH_CREDITS = 500
# The helper answers within seconds; a helper silent for this long is stuck, not slow.
SILENCE_LIMIT_S = 600


class MatchingProcessFailed(Exception):
    """The helper could not decide the credits; the import matches them itself."""


class MatchingProcess:
    """The helper process, started loading the matcher; `decided` sends it the credits."""

    def __init__(self) -> None:
        method = start_method()
        context = (
            multiprocessing.get_context("fork")
            if method == "fork"
            else multiprocessing.get_context("spawn")
        )
        self._pipe, helper_end = context.Pipe()
        self._process = context.Process(
            target=_serve,
            args=(helper_end, dict(connection.settings_dict), get_language(), method),
            name="statement-matching",
            daemon=True,
        )
        self._process.start()
        helper_end.close()  # only the helper's copy stays open: its exit is our end of file

    def decided(self, credits: list[CreditFacts], rule: AutoConfirm | None) -> Iterator[Decisions]:
        """The helper's decisions for `credits`, in their order, a batch at a time."""
        self._send((credits, rule, BATCH_CREDITS))
        while True:
            decisions = self._receive()
            if decisions is None:
                return
            # Whatever else has come meanwhile joins this batch: while the import confirms,
            # the helper decides on, and fewer, larger batches cost the import less.
            while self._pipe.poll(0):
                more = self._receive()
                if more is None:
                    yield decisions
                    return
                decisions.confirmations += more.confirmations
                decisions.suggestions += more.suggestions
            yield decisions

    def stop(self) -> None:
        self._pipe.close()
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(timeout=5)
        if self._process.is_alive():
            self._process.kill()
        self._process.join()

    def _send(self, message: object) -> None:
        try:
            self._pipe.send(message)
        except OSError as error:
            raise MatchingProcessFailed("the matching process has gone") from error

    def _receive(self) -> Decisions | None:
        try:
            if not self._pipe.poll(SILENCE_LIMIT_S):
                raise MatchingProcessFailed("the matching process stopped answering")
            kind, payload = self._pipe.recv()
        except (EOFError, OSError) as error:
            raise MatchingProcessFailed("the matching process has gone") from error
        if kind == "failed":
            raise MatchingProcessFailed(payload)
        return payload if kind == "decided" else None


@contextmanager
def matching_process_for(data: bytes, *, writes: bool) -> Iterator[MatchingProcess | None]:
    """A helper for the import of `data` when it is worth one and can see what the import
    sees (see the module's notes); stopped when the import ends, however it ends."""
    helper = None
    if writes and len(data) >= MIN_STATEMENT_BYTES and _sees_committed_state():
        try:
            helper = MatchingProcess()
        # No process to be had (limits, or this is itself a daemonic process): no helper.
        except (OSError, AssertionError):
            logger.warning("statement matching: no helper process", exc_info=True)
    try:
        yield helper
    finally:
        if helper is not None:
            helper.stop()


def start_method() -> Literal["fork", "spawn"]:
    """How the helper is started (see the module's notes)."""
    return "fork" if threading.active_count() == 1 else "spawn"


def _sees_committed_state() -> bool:
    return settings.STATEMENT_MATCHING_PROCESS and not connection.in_atomic_block


def _serve(pipe: Connection, database: dict[str, Any], language: str | None, method: str) -> None:
    """The helper: connect to the import's database, load the matcher, then decide the credits
    it is sent and send the decisions back in batches."""
    # A forked copy inherits the importing process's handlers (a web server's graceful stop,
    # say): told to stop, the helper just stops.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        # As the import does: no cycle collection over the matcher's many long-lived objects.
        gc.disable()
        if method == "fork":
            _connection_of_its_own()
        else:
            _django_setup(database)
        if language:
            translation.activate(language)  # suggestions' reasons, in the words of who imports
        from exportdesk.payments.imports import credits_decide
        from exportdesk.payments.matching import matcher_load

        matcher = matcher_load()
        credits, rule, every = pipe.recv()
        for decisions in credits_decide(matcher, credits, rule, every=every):
            pipe.send(("decided", decisions))
        pipe.send(("done", None))
    except EOFError:
        return  # the import ended without needing the decisions
    except BaseException:  # told to the import, which then matches by itself
        with suppress(OSError):
            pipe.send(("failed", traceback.format_exc()))
    finally:
        pipe.close()


# The import's connection objects, as a forked helper inherited them.
_INHERITED: list[Any] = []


def _connection_of_its_own() -> None:
    """A forked helper holds a copy of the import's connection, whose other end the import still
    uses: it must neither use nor close it (closing a PostgreSQL connection tells the server
    goodbye for both), so it is kept referenced here (the helper ends without finalising
    anything) and a new one opened in its place."""
    _INHERITED.append(connections[DEFAULT_DB_ALIAS])
    connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)


def _django_setup(database: dict[str, Any]) -> None:
    import django
    from django.conf import settings as helper_settings

    # The import's own database (under tests, the test database), not the settings' default.
    helper_settings.DATABASES = {DEFAULT_DB_ALIAS: database}
    django.setup()
