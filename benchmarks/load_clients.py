"""The load run's clients: annotators on the page and on the API, over HTTP, each keeping a
ledger of what the server acknowledged, so that the run can compare it with what was stored.

A page annotator does what the annotate page's script does: it posts the answer with the item's
token and the id of the item now shown, takes the next item from the response, skips now and
then, undoes now and then (and answers the item it gets back), and presses twice sometimes (two
requests with the same token at once). An API annotator leases with `POST /api/v1/queue/next/`,
answers with `POST /api/v1/labels/` under an Idempotency-Key, retries some keys, sends some
twice at once, and now and then tries to answer an item another annotator holds (which must be
refused). Nothing waits between answers: twenty of them are a heavy morning's team at once.
"""

from __future__ import annotations

import random
import re
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import requests

ITEM = re.compile(r'data-transaction="(\d+)" data-token="([^"]*)" data-suggested="(\d*)"')
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
WARNING = re.compile(r'<p class="warning">')
TIMEOUT_S = 60

# Shares of a client's actions (the rest are plain answers).
DOUBLE_PRESS = 0.05
SKIP = 0.04
UNDO = 0.03
RETRIED_KEY = 0.05
FOREIGN_ITEM = 0.03


@dataclass
class Ledger:
    """What the server acknowledged and how long everything took, shared by every client."""

    acknowledged: dict[tuple[str, str], int] = field(default_factory=dict)  # (user, token) -> id
    undone: set[tuple[str, str]] = field(default_factory=set)
    replays_differing: int = 0  # a repeat of a request that named another label than the first
    foreign_accepted: int = 0  # a label for an item another annotator held, accepted
    statuses: Counter = field(default_factory=Counter)  # (kind, status)
    refusals: Counter = field(default_factory=Counter)  # expected refusals, by kind
    answers: list[tuple[float, float, str]] = field(default_factory=list)  # (start, seconds, kind)
    health: list[tuple[float, float]] = field(default_factory=list)
    health_statuses: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(self, kind: str, send, *, answer: bool) -> requests.Response:
        started = time.perf_counter()
        response = send()
        elapsed = time.perf_counter() - started
        with self.lock:
            self.statuses[(kind, response.status_code)] += 1
            if answer:
                self.answers.append((started, elapsed, kind))
            if response.status_code >= 500:
                self.errors.append(f"{kind} {response.status_code}: {response.text[:200]}")
        return response

    def acknowledge(self, user: str, token: str, transaction_id: int) -> None:
        with self.lock:
            self.acknowledged[(user, token)] = transaction_id

    def refused(self, kind: str) -> None:
        with self.lock:
            self.refusals[kind] += 1


class Deadline:
    """When the answering stops: at a set time, or later while a retrain it waits for runs."""

    def __init__(self, at: float):
        self.at, self.held = at, False

    def passed(self) -> bool:
        return not self.held and time.perf_counter() >= self.at

    def hold(self) -> None:
        self.held = True

    def release(self, *, after: float) -> None:
        """Answering goes on `after` seconds more (and at least until the set time)."""
        self.at = max(self.at, time.perf_counter() + after)
        self.held = False


@dataclass
class Held:
    """Which annotator holds which item now, for the clients that try to take another's."""

    items: dict[int, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hold(self, user: str, transaction_id: int | None) -> None:
        if transaction_id is not None:
            with self.lock:
                self.items[transaction_id] = user

    def drop(self, transaction_id: int | None) -> None:
        with self.lock:
            self.items.pop(transaction_id, None)

    def someone_elses(self, user: str, rng: random.Random) -> int | None:
        with self.lock:
            others = [tid for tid, holder in self.items.items() if holder != user]
        return rng.choice(others) if others else None


def items_shown(body: str) -> list[tuple[int, str, str]]:
    """The items a page response carries, in order: (transaction, token, suggested class)."""
    return [(int(t), token, suggested) for t, token, suggested in ITEM.findall(body)]


def page_login(session: requests.Session, base: str, username: str, password: str) -> None:
    form = session.get(f"{base}/accounts/login/", timeout=TIMEOUT_S)
    token = CSRF_INPUT.search(form.text).group(1)
    response = session.post(
        f"{base}/accounts/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{base}/accounts/login/"},
        timeout=TIMEOUT_S,
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise RuntimeError(f"{username} could not sign in: {response.status_code}")


class PageAnnotator:
    def __init__(self, *, base, username, password, classes, ledger, held, seed):
        self.base, self.user, self.classes = base, username, classes
        self.ledger, self.held = ledger, held
        self.rng = random.Random(seed)
        self.session = requests.Session()
        page_login(self.session, base, username, password)
        self.session.headers.update(
            {"HX-Request": "true", "X-CSRFToken": self.session.cookies["csrftoken"]}
        )
        self.items: list[tuple[int, str, str]] = []  # (transaction, token, suggested): shown first
        self.mine: list[str] = []  # tokens acknowledged this session, newest last, not undone
        self.presses = ThreadPoolExecutor(max_workers=2)

    def _load(self) -> None:
        self._show(self.session.get(f"{self.base}/annotate/", timeout=TIMEOUT_S).text)

    def _show(self, body: str) -> None:
        """A whole workspace: the item shown and the one prefetched."""
        for item in self.items:
            self.held.drop(item[0])
        self.items = items_shown(body)[:2]
        for item in self.items:
            self.held.hold(self.user, item[0])

    def _post(self, path: str, data: dict, *, answer: bool) -> requests.Response:
        return self.ledger.timed(
            f"page {path}",
            lambda: self.session.post(f"{self.base}{path}", data=data, timeout=TIMEOUT_S),
            answer=answer,
        )

    def run(self, deadline: Deadline) -> None:
        self._load()
        while not deadline.passed():
            if not self.items:
                time.sleep(0.2)
                self._load()
                continue
            draw = self.rng.random()
            if draw < UNDO and self.mine:
                self._undo()
            elif draw < UNDO + SKIP:
                self._skip()
            else:
                self._answer(double=draw > 1 - DOUBLE_PRESS)

    def _showing(self) -> int | None:
        return self.items[1][0] if len(self.items) > 1 else None

    def _advance(self, body: str) -> None:
        """The shown item was answered or skipped: the prefetched one is shown, the response's
        item is prefetched."""
        self.held.drop(self.items[0][0])
        following = items_shown(body)[:1]
        self.items = self.items[1:] + following
        for item in following:
            self.held.hold(self.user, item[0])

    def _answer(self, *, double: bool) -> None:
        transaction_id, token, suggested = self.items[0]
        if suggested and self.rng.random() < 0.7:
            action = "confirm"
        else:
            action = f"class:{self.classes['fraud' if self.rng.random() < 0.1 else 'legit']}"
        data = {
            "transaction": transaction_id,
            "token": token,
            "suggested": suggested,
            "action": action,
            "showing": self._showing() or "",
        }
        if double:  # the same key pressed twice: two requests with one token in flight
            presses = [
                self.presses.submit(self._post, "/annotate/answer/", data, answer=True)
                for _ in range(2)
            ]
            responses = [press.result() for press in presses]
        else:
            responses = [self._post("/annotate/answer/", data, answer=True)]
        recorded = [r for r in responses if r.status_code == 200 and not WARNING.search(r.text)]
        if recorded:
            self.ledger.acknowledge(self.user, token, transaction_id)
            self.mine.append(token)
        elif all(r.status_code == 200 for r in responses):
            self.ledger.refused("page answer refused (answered or held by another)")
        if responses[0].status_code == 200:
            self._advance(responses[0].text)
        else:
            self._load()

    def _skip(self) -> None:
        data = {"transaction": self.items[0][0], "showing": self._showing() or ""}
        response = self._post("/annotate/skip/", data, answer=False)
        if response.status_code == 200:
            self._advance(response.text)
        else:
            self._load()

    def _undo(self) -> None:
        response = self._post("/annotate/undo/", {}, answer=False)
        if response.status_code != 200:
            self._load()
            return
        if "Undid " in response.text:
            with self.ledger.lock:
                self.ledger.undone.add((self.user, self.mine.pop()))
        self._show(response.text)


class ApiAnnotator:
    def __init__(self, *, base, username, token, classes, ledger, held, seed):
        self.base, self.user = base, username
        self.class_names = list(classes)
        self.ledger, self.held = ledger, held
        self.rng = random.Random(seed)
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"
        self.presses = ThreadPoolExecutor(max_workers=2)

    def _label(self, transaction_id: int, label_class: str, key: str) -> requests.Response:
        return self.ledger.timed(
            "api labels",
            lambda: self.session.post(
                f"{self.base}/api/v1/labels/",
                json={"transaction": transaction_id, "label_class": label_class},
                headers={"Idempotency-Key": key},
                timeout=TIMEOUT_S,
            ),
            answer=True,
        )

    def run(self, deadline: Deadline) -> None:
        while not deadline.passed():
            if self.rng.random() < FOREIGN_ITEM:
                self._foreign()
            response = self.ledger.timed(
                "api queue/next",
                lambda: self.session.post(f"{self.base}/api/v1/queue/next/", timeout=TIMEOUT_S),
                answer=False,
            )
            if response.status_code != 200:
                time.sleep(0.2)
                continue
            item = response.json()
            transaction_id = item["transaction"]["id"]
            self.held.hold(self.user, transaction_id)
            label_class = item["suggested_class"] or "legit"
            if self.rng.random() < 0.1:
                label_class = self.rng.choice(self.class_names)
            self._answer(transaction_id, label_class)
            self.held.drop(transaction_id)

    def _answer(self, transaction_id: int, label_class: str) -> None:
        key = uuid.uuid4().hex
        draw = self.rng.random()
        if draw < DOUBLE_PRESS:
            presses = [
                self.presses.submit(self._label, transaction_id, label_class, key) for _ in range(2)
            ]
            responses = [press.result() for press in presses]
        else:
            responses = [self._label(transaction_id, label_class, key)]
            if draw < DOUBLE_PRESS + RETRIED_KEY:  # the answer got lost on the way back: retry
                responses.append(self._label(transaction_id, label_class, key))
        accepted = [r for r in responses if r.status_code in (200, 201)]
        if accepted:
            self.ledger.acknowledge(self.user, key, transaction_id)
            if len({r.json()["id"] for r in accepted}) > 1:
                with self.ledger.lock:
                    self.ledger.replays_differing += 1
        elif all(r.status_code == 409 for r in responses):
            self.ledger.refused("api label refused (answered or held by another)")

    def _foreign(self) -> None:
        """An answer for an item another annotator was shown and holds: must be a 409."""
        transaction_id = self.held.someone_elses(self.user, self.rng)
        if transaction_id is None:
            return
        key = uuid.uuid4().hex
        response = self._label(transaction_id, "legit", key)
        if response.status_code in (200, 201):
            # Accepted is right only when the holder had answered it already and its lease
            # ended; the stored labels decide (two annotators on one item is counted there).
            with self.ledger.lock:
                self.ledger.foreign_accepted += 1
            self.ledger.acknowledge(self.user, key, transaction_id)
        elif response.status_code == 409:
            self.ledger.refused("api label for another's item refused")


def health_probe(base: str, ledger: Ledger, deadline: Deadline, interval: float = 0.1) -> None:
    """`/healthz` as a load balancer asks it, timed beside the answers."""
    session = requests.Session()
    while not deadline.passed():
        started = time.perf_counter()
        response = session.get(f"{base}/healthz", timeout=TIMEOUT_S)
        elapsed = time.perf_counter() - started
        with ledger.lock:
            ledger.health.append((started, elapsed))
            ledger.health_statuses[response.status_code] += 1
        time.sleep(max(0.0, interval - elapsed))
