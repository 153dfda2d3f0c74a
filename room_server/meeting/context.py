"""What a meeting word may use: the connected clients, the way back to them, the store
(reading), the writer (changing), the clock, and hooks to hear what other words did.

Words never import each other. When one word's change matters to another (a sign-in
checks the member in; a new meeting resets the speaker queue) it goes through a hook
here, so imports run one way: dispatch → meeting words → context.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from room_protocol.codec import encode
from room_protocol.errors import ErrorCode
from room_protocol.live import SignedOut
from room_protocol.messages import (
    ErrorMessage,
    MeetingRoster,
    MeetingSnapshot,
    MeetingState,
    Message,
    Role,
    roster_id,
)
from room_server.rules import Refusal
from room_server.store import Store
from room_server.writer import Transaction, WriteFailed, Writer

PRESIDING = frozenset({Role.CHAIR, Role.CLERK})


@dataclass(eq=False)
class Client:
    """One control connection and who is using it."""

    client_id: str
    seat_id: str | None = None
    role: Role = Role.OBSERVER
    delegate_id: str | None = None
    name: str = ""
    link: Any = None  # the transport's connection object; opaque here
    display: bool = False  # the room display: an observer nobody signs in on

    @property
    def presiding(self) -> bool:
        return self.role in PRESIDING


Send = Callable[[Iterable[Client], str], None]
Effect = Callable[[], None]
Effects = list[Effect]


def not_saved(
    failed: WriteFailed, op_id: str, internal: str = "the room could not save this; try again"
) -> ErrorMessage:
    """The answer to a request whose transaction was not committed: ``storage`` with the
    chair's words when the room's disk was the cause, else ``internal``."""
    if failed.storage is not None:
        return ErrorMessage(ErrorCode.STORAGE.value, failed.storage, op_id)
    return ErrorMessage(ErrorCode.INTERNAL.value, internal, op_id)


@dataclass(frozen=True, slots=True)
class Answered:
    """A handler's result when the answer is not a plain ``ack`` (a batch's per-item
    outcome): sent, and recorded for a resend, as an ``ack`` would be."""

    answer: Message
    effects: Effects


Handler = Callable[[Transaction, Client, Any], Effects | Answered]  # one request's handler


@dataclass
class Hooks:
    """Listeners other words register; each is called in registration order."""

    connected: list[Callable[[Client], None]] = field(default_factory=list)
    disconnected: list[Callable[[Client], None]] = field(default_factory=list)
    signed_in: list[Callable[[Client], None]] = field(default_factory=list)
    signed_out: list[Callable[[Client, bool], None]] = field(default_factory=list)
    meeting_changed: list[Callable[[bool], None]] = field(default_factory=list)
    attendance_changed: list[Callable[[], None]] = field(default_factory=list)
    ballots_recorded: list[Callable[[], None]] = field(default_factory=list)
    meeting_closed: list[Callable[[str], None]] = field(default_factory=list)  # meeting id


@dataclass
class Context:
    store: Store  # the loop's connection: reads only (query_only)
    writer: Writer
    send: Send
    clock: Callable[[], float] = time.time
    clients: set[Client] = field(default_factory=set)
    snapshot: MeetingSnapshot | None = None
    state_frame: str = ""  # meeting.state, without the roster
    roster_frame: str = ""  # meeting.roster ("" with no meeting)
    _roster_id: str = ""
    on_broadcast: Callable[[str, int], None] | None = None  # (message type, recipients)
    hooks: Hooks = field(default_factory=Hooks)

    # --- the meeting ---------------------------------------------------------------------

    def meeting(self) -> MeetingSnapshot:
        if self.snapshot is None:
            raise Refusal(ErrorCode.BAD_STATE, "no meeting is loaded in this room")
        return self.snapshot

    @property
    def meeting_id(self) -> str:
        return self.meeting().meeting_id

    def refresh_meeting(self) -> bool:
        """Reload the meeting from the store; True if it changed."""
        snapshot = self.store.snapshot()
        if snapshot == self.snapshot and self.state_frame:
            return False
        before = self.snapshot
        self.snapshot = snapshot
        if snapshot is None:
            self.roster_frame = ""
            self.state_frame = encode(MeetingState(None))
            return True
        if before is None or before.roster != snapshot.roster or not self.roster_frame:
            self._roster_id = roster_id(snapshot.roster)
            self.roster_frame = encode(MeetingRoster(self._roster_id, snapshot.roster))
        wire = dataclasses.replace(snapshot, roster=(), roster_id=self._roster_id)
        self.state_frame = encode(MeetingState(wire))
        return True

    def bring_up_to_date(self, client: Client) -> None:
        """A client that just connected: the roster, then the meeting."""
        if self.roster_frame:
            self.send([client], self.roster_frame)
        self.send([client], self.state_frame)

    def publish_meeting(self) -> None:
        """Send the meeting to everyone if it changed (an import, an agenda edit); the
        roster only if it changed too (an import)."""
        before = self.snapshot.meeting_id if self.snapshot else None
        roster_before = self.roster_frame
        if not self.refresh_meeting():
            return
        if self.roster_frame and self.roster_frame != roster_before:
            self.broadcast(self.clients, self.roster_frame, "meeting.roster")
        self.broadcast(self.clients, self.state_frame, "meeting.state")
        after = self.snapshot.meeting_id if self.snapshot else None
        switched = after != before
        if switched:
            # Roles come from the meeting's roster: everyone signs in again.
            for client in [c for c in self.clients if c.delegate_id is not None]:
                self.become_observer(client, "a different meeting was loaded; sign in again")
        for listener in self.hooks.meeting_changed:
            listener(switched)

    def meta(self, key: str) -> str | None:
        """A live setting of the current meeting (a new meeting starts from the defaults)."""
        if self.snapshot is None:
            return None
        return self.store.meta(f"{self.snapshot.meeting_id}:{key}")

    def set_meta(self, tx: Transaction, key: str, value: str) -> None:
        tx.store.set_meta(f"{self.meeting_id}:{key}", value)

    # --- clients -------------------------------------------------------------------------

    def broadcast(self, clients: Iterable[Client], frame: str, kind: str) -> None:
        targets = list(clients)
        self.send(targets, frame)
        if self.on_broadcast:
            self.on_broadcast(kind, len(targets))

    def presiding(self) -> list[Client]:
        return [c for c in self.clients if c.presiding]

    def become_observer(self, client: Client, reason: str) -> None:
        """Nobody is signed in on ``client`` any more (the connection stays)."""
        was_presiding = client.presiding
        client.role, client.delegate_id, client.name = Role.OBSERVER, None, ""
        self.send([client], encode(SignedOut(reason)))
        for listener in self.hooks.signed_out:
            listener(client, was_presiding)

    def signed_in(self, client: Client) -> None:
        for listener in self.hooks.signed_in:
            listener(client)

    def meeting_closed(self, meeting_id: str) -> None:
        """After the close committed (and ``meeting.state`` with ``closed_at`` went out)."""
        for listener in self.hooks.meeting_closed:
            listener(meeting_id)

    def attendance_changed(self) -> None:
        for listener in self.hooks.attendance_changed:
            listener()


class Cancellable(Protocol):
    def cancel(self) -> None: ...


Later = Callable[[float, Callable[[], None]], Cancellable]  # (seconds, callback) -> its handle


Soon = Callable[[Callable[[], None]], Cancellable]  # callback -> its handle, next loop turn


def call_later(seconds: float, callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_later(seconds, callback)


def call_soon(callback: Callable[[], None]) -> Cancellable:
    return asyncio.get_running_loop().call_soon(callback)


class Spread:
    """Sends a state whose later version supersedes the earlier (``floor.state``) to many
    tablets a slice at a time, one slice per event-loop turn, so that what the loop has
    to do meanwhile (a page change's ``follow.state``, a request's answer) waits for one
    slice, not for the whole room: 2,000 tablets are ~40 ms of the loop, a slice of
    ``slice_size`` a few. A new version replaces what is left of the one being sent
    (everyone gets the new one). Each tablet keeps the state with the highest ``seq``,
    so one that got a newer state at once (the chair) ignores an older one from here.
    ``connected``: the room's clients as they are now (one gone since is skipped);
    ``soon`` is the test's to replace."""

    def __init__(
        self,
        send: Send,
        connected: Collection[Client],
        slice_size: int,
        *,
        soon: Soon = call_soon,
    ) -> None:
        if slice_size < 1:
            raise ValueError(f"a slice of {slice_size} tablets")
        self._send = send
        self._connected = connected
        self.slice_size = slice_size
        self._soon = soon
        self._left: list[Client] = []
        self._frame = ""
        self._next: Cancellable | None = None

    @property
    def sending(self) -> bool:
        """Tablets are left to send the current version to."""
        return bool(self._left)

    def send(self, clients: Iterable[Client], frame: str, first: Iterable[Client] = ()) -> None:
        """Send ``frame`` to ``clients``: ``first`` (those of them that must not wait)
        and the first slice now, the rest on later turns; whatever was left of the
        previous version is dropped."""
        targets = list(clients)
        wanted = set(targets)
        ahead = [c for c in dict.fromkeys(first) if c in wanted]
        chosen = set(ahead)
        self._left = [*ahead, *(c for c in targets if c not in chosen)]
        self._frame = frame
        self._send_slice(max(self.slice_size, len(ahead)))
        self._schedule()

    def cancel(self) -> None:
        self._left = []
        if self._next is not None:
            self._next.cancel()
            self._next = None

    def _turn(self) -> None:
        self._next = None
        self._send_slice(self.slice_size)
        self._schedule()

    def _send_slice(self, size: int) -> None:
        now, self._left = self._left[:size], self._left[size:]
        now = [c for c in now if c in self._connected]
        if now:
            self._send(now, self._frame)

    def _schedule(self) -> None:
        if self._left and self._next is None:
            self._next = self._soon(self._turn)


class Coalescer:
    """Sends a state whose later version supersedes the earlier (``floor.state``) to
    everyone at most once every ``interval`` seconds: the first change after a quiet
    interval goes out at once, changes within the interval go out together once it has
    passed, and ``send`` builds the message when it runs, so what goes out is always the
    latest and the last change is never lost.

    A broadcast costs the one event loop about 20 µs a tablet (40 ms at 2,000;
    docs/performance.md): 40 speaker requests in a burst were 40 of them, queuing the
    chair's page changes behind. ``clock`` and ``later`` are the test's to replace."""

    def __init__(
        self,
        send: Callable[[], None],
        interval: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        later: Later = call_later,
    ) -> None:
        self._send = send
        self.interval = interval
        self._clock = clock
        self._later = later
        self._sent_at: float | None = None
        self._due: Cancellable | None = None

    @property
    def pending(self) -> bool:
        """A change waits for the interval to pass."""
        return self._due is not None

    def changed(self) -> bool:
        """The state changed: send it now if the interval has passed since the last send,
        else once it has. True if it was sent now."""
        if self._due is not None:
            return False  # the send already due will build the latest state
        now = self._clock()
        if self._sent_at is None or now - self._sent_at >= self.interval:
            self._fire()
            return True
        self._due = self._later(self._sent_at + self.interval - now, self._fire)
        return False

    def now(self) -> None:
        """Send now, whatever is due (a change that must not wait: another meeting)."""
        self.cancel()
        self._fire()

    def cancel(self) -> None:
        if self._due is not None:
            self._due.cancel()
            self._due = None

    def _fire(self) -> None:
        self._due = None
        self._sent_at = self._clock()
        self._send()
