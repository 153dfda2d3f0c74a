"""A client's control connection: mutual TLS to the room, hello, live meeting state,
reconnect.

The TLS context trusts only the room CA the device was given at enrollment and shows the
device's certificate (:class:`~room_client.enrollment.DeviceCredentials`); the server's
certificate must also name the host the room advertised. Lost connections are retried
with capped exponential backoff and jitter, so 2,000 tablets do not return in one burst.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus

from room_client.control import ControlSession
from room_client.enrollment import DeviceCredentials
from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import MAX_MESSAGE_BYTES, decode, encode
from room_protocol.errors import ProtocolError
from room_protocol.live import Request, SignedIn
from room_protocol.messages import (
    Channel,
    ErrorMessage,
    Hello,
    MeetingSnapshot,
    Message,
    Welcome,
)
from room_protocol.wire import frame_safe_logger

log = logging.getLogger(__name__)

_WIRE_LOG = frame_safe_logger("websockets.client")
OPEN_TIMEOUT = 10.0  # seconds for TCP + TLS + WebSocket handshake + welcome
THROTTLED_RETRY_S = 1.0  # a request refused as rate_limited goes again after 1-2 s


class Phase(StrEnum):
    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RETRYING = "retrying"
    STOPPED = "stopped"


class Failure(StrEnum):
    """Why connecting failed, for a screen to say it in the reader's language."""

    UNTRUSTED = "untrusted"  # the room's certificate is not signed by this device's room CA
    UNREACHABLE = "unreachable"  # nothing answers at that address and port, or not in time
    REFUSED = "refused"  # the room answered and said no (HTTP status, error, revoked device)
    DROPPED = "dropped"  # connected, then the connection ended


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    phase: Phase
    room_name: str
    detail: str = ""
    retry_in: float | None = None
    failure: Failure | None = None  # why the last attempt failed (RETRYING)


@dataclass(frozen=True, slots=True)
class RoomEndpoint:
    """Where a room is: ``hostname`` is checked against the certificate, ``address``
    is where the TCP connection goes (an mDNS address, or the hostname itself)."""

    hostname: str
    port: int
    address: str = ""
    room_name: str = ""

    @property
    def uri(self) -> str:
        return f"wss://{self.hostname}:{self.port}/"


class ConnectError(Exception):
    """Connecting failed; ``str()`` is a reason a person can act on (English, for IT
    staff and logs), ``failure`` what kind of failure it is."""

    def __init__(self, message: str, failure: Failure = Failure.REFUSED) -> None:
        super().__init__(message)
        self.failure = failure


@dataclass(frozen=True, slots=True)
class Keepalive:
    """How soon the control connection notices a dead link. A Wi-Fi drop sends no FIN:
    without pings the tablet would go on saying "connected" for as long as TCP keeps
    retransmitting (minutes), its requests unanswered. A ping every ``interval`` seconds;
    the link is given up ``timeout`` seconds after a ping went unanswered, and the close
    waits ``close_timeout`` more for the room's close frame. Seconds, all three: at most
    18 s from the drop to "retrying" with the defaults; at 2,000 tablets the room answers
    400 pings a second."""

    interval: float = 5.0
    timeout: float = 10.0
    close_timeout: float = 3.0


_DOWNLOAD_KEEPALIVE = Keepalive(20.0, 20.0, 10.0)  # websockets' defaults


@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 15.0
    attempt: int = 0

    def next_delay(self) -> float:
        ceiling = min(self.maximum, self.initial * 2**self.attempt)
        self.attempt += 1
        return float(ceiling) * random.uniform(0.5, 1.0)  # noqa: S311  jitter, not cryptography

    def reset(self) -> None:
        self.attempt = 0


async def open_channel(
    endpoint: RoomEndpoint,
    context: ssl.SSLContext,
    channel: Channel,
    client_id: str,
    client_name: str = "",
    *,
    resume_token: str | None = None,
    keepalive: Keepalive | None = None,
) -> tuple[ClientConnection, Welcome]:
    """Connect, say hello on ``channel`` and wait for welcome; raise ConnectError.
    ``keepalive`` None: websockets' own (a ping every 20 s, 20 s for the answer), what a
    download needs: there the room's answer to a ping waits behind megabytes of chunks."""
    pings = keepalive or _DOWNLOAD_KEEPALIVE
    try:
        ws = await connect(
            endpoint.uri,
            host=endpoint.address or endpoint.hostname,
            port=endpoint.port,
            ssl=context,
            open_timeout=OPEN_TIMEOUT,
            ping_interval=pings.interval,
            ping_timeout=pings.timeout,
            close_timeout=pings.close_timeout,
            max_size=MAX_MESSAGE_BYTES * 16,  # document chunks are binary frames up to 4 MiB
            compression=None,
            proxy=None,
            logger=_WIRE_LOG,
        )
    except ssl.SSLCertVerificationError as exc:
        raise ConnectError(
            f"the room's certificate is not trusted: {exc.verify_message}", Failure.UNTRUSTED
        ) from exc
    except InvalidStatus as exc:
        raise ConnectError(
            f"the room refused the connection (HTTP {exc.response.status_code})"
        ) from exc
    except ssl.SSLError as exc:  # e.g. the room refused this device's certificate
        raise ConnectError(_describe(exc)) from exc
    except (OSError, TimeoutError, InvalidHandshake) as exc:
        raise ConnectError(_describe(exc), Failure.UNREACHABLE) from exc
    try:
        await ws.send(
            encode(Hello(PROTOCOL_VERSION, channel, client_id, client_name, resume_token))
        )
        reply = decode(await asyncio.wait_for(ws.recv(), OPEN_TIMEOUT))
    except (ConnectionClosed, TimeoutError, ProtocolError) as exc:
        await ws.close()
        raise ConnectError(_describe(exc), Failure.DROPPED) from exc
    if isinstance(reply, ErrorMessage):
        await ws.close()
        raise ConnectError(reply.message)
    if not isinstance(reply, Welcome):
        await ws.close()
        raise ConnectError(f"the room answered {reply.TYPE} instead of welcome")
    return ws, reply


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "the room did not answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "the room server is not running"
    if isinstance(exc, ConnectionClosed):
        return "the room closed the connection"
    return str(exc) or type(exc).__name__


class RoomConnection:
    """Keeps one control connection open, reports status and meeting state, and carries
    the client's requests: the asyncio shell of a :class:`~room_client.control.ControlSession`,
    which decides what is pending, what goes out again after a reconnect and which
    answer settles which request. Here each pending request has a future its sender awaits.
    """

    def __init__(
        self,
        endpoint: RoomEndpoint,
        credentials: DeviceCredentials,
        *,
        client_name: str = "",
        on_status: Callable[[ConnectionStatus], None] | None = None,
        on_meeting: Callable[[MeetingSnapshot | None], None] | None = None,
        on_message: Callable[[Message], None] | None = None,
        backoff: Backoff | None = None,
        keepalive: Keepalive | None = None,
    ) -> None:
        self.endpoint = endpoint
        self.keepalive = keepalive or Keepalive()
        self.context = credentials.context()
        self.client_id = credentials.device_id()
        self.client_name = client_name
        self.on_status = on_status
        self.on_meeting = on_meeting
        self.on_message = on_message
        self.backoff = backoff or Backoff()
        self.session = ControlSession()
        self.status = ConnectionStatus(Phase.IDLE, endpoint.room_name)
        self.welcome: Welcome | None = None
        self.welcomed_at = 0.0  # loop time when welcome arrived
        self._answers: dict[str, asyncio.Future[Message]] = {}  # by op_id, while pending
        self._ws: ClientConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._resends: set[asyncio.Future[None]] = set()
        self._moved = asyncio.Event()  # set by move(): retry now, elsewhere
        self._trusted: RoomEndpoint | None = None  # where the room last welcomed us

    @property
    def meeting(self) -> MeetingSnapshot | None:
        return self.session.meeting

    @property
    def signed_in(self) -> SignedIn | None:
        return self.session.signed_in

    @property
    def latest(self) -> dict[str, Message]:
        """The last message of each type, e.g. ``latest["floor.state"]``."""
        return self.session.latest

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            for resend in list(self._resends):
                resend.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set(Phase.STOPPED)

    def drop(self) -> None:
        """Cut the connection as a Wi-Fi drop would (the run loop reconnects)."""
        if self._ws is not None and self._ws.transport is not None:
            self._ws.transport.abort()

    def new_op_id(self) -> str:
        return self.session.new_op_id()

    @property
    def pending(self) -> list[Request]:
        """Requests sent (or waiting to be sent) that the room has not answered yet."""
        return self.session.pending

    def is_pending(self, op_id: str) -> bool:
        return self.session.is_pending(op_id)

    async def request(self, request: Request) -> Message:
        """Send ``request`` (now, or after reconnecting) and wait for the room's answer:
        :class:`Ack`, :class:`BallotRecorded` (to a ballot), :class:`AnnotationsKept` (to a
        batch of annotation operations) or :class:`ErrorMessage`.

        A request with the ``op_id`` of one still waiting is the same request sent again:
        it goes out now and waits for the same answer."""
        repeat = not self.session.submit(request)
        if repeat:
            future = self._answers[request.op_id]
        else:
            future = asyncio.get_running_loop().create_future()
            self._answers[request.op_id] = future
        if self._ws is not None and self.status.phase is Phase.CONNECTED:
            with contextlib.suppress(ConnectionClosed):
                await self._ws.send(encode(request))
        # A repeat giving up must not cancel the answer the first sender awaits.
        return await (asyncio.shield(future) if repeat else future)

    def _send_later(self, request: Request) -> None:
        """The room took more requests than its rate allows: send this one again in a
        while (jittered, so tablets that reconnected together do not return together)."""

        async def resend() -> None:
            await asyncio.sleep(THROTTLED_RETRY_S * random.uniform(1.0, 2.0))  # noqa: S311
            if self._ws is not None and self.session.is_pending(request.op_id):
                with contextlib.suppress(ConnectionClosed):
                    await self._ws.send(encode(request))

        task = asyncio.ensure_future(resend())
        self._resends.add(task)
        task.add_done_callback(self._resends.discard)

    def _set(
        self,
        phase: Phase,
        detail: str = "",
        retry_in: float | None = None,
        failure: Failure | None = None,
    ) -> None:
        self.status = ConnectionStatus(phase, self.endpoint.room_name, detail, retry_in, failure)
        if self.on_status:
            self.on_status(self.status)

    async def _run(self) -> None:
        while True:
            self._set(Phase.CONNECTING)
            failure = Failure.DROPPED
            try:
                await self._connected()
                detail = "the room closed the connection"
            except ConnectError as exc:
                detail, failure = str(exc), exc.failure
            except (ConnectionClosed, OSError) as exc:
                detail = _describe(exc)
            delay = self.backoff.next_delay()
            log.info(
                "connection to %s lost (%s); retrying in %.1f s", self.endpoint.uri, detail, delay
            )
            trusted = self._trusted
            if failure is Failure.UNTRUSTED and trusted is not None and trusted != self.endpoint:
                # mDNS is only a hint: whoever announced this address is not the room.
                log.warning(
                    "%s:%d is not the room (%s); back to %s:%d",
                    self.endpoint.address or self.endpoint.hostname,
                    self.endpoint.port,
                    detail,
                    trusted.address or trusted.hostname,
                    trusted.port,
                )
                self.endpoint, delay = trusted, 0.0
            self._set(Phase.RETRYING, detail, delay, failure)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._moved.wait(), delay)
            self._moved.clear()

    def move(self, endpoint: RoomEndpoint) -> None:
        """The room is now at ``endpoint`` (mDNS resolved it anew, e.g. after the server
        restarted on another port): the next attempt goes there, at once if waiting to
        retry. The session (pending requests, resume token) carries over; a live
        connection is left alone. Where TLS finds no room (an impostor's announcement),
        the attempt after goes back to where the room last welcomed this device."""
        if endpoint == self.endpoint:
            return
        log.info("room %s moved to %s:%d", endpoint.room_name, endpoint.address, endpoint.port)
        self.endpoint = endpoint
        self._moved.set()

    async def _connected(self) -> None:
        ws, self.welcome = await open_channel(
            self.endpoint,
            self.context,
            Channel.CONTROL,
            self.client_id,
            self.client_name,
            resume_token=self.session.resume_token,
            keepalive=self.keepalive,
        )
        self.welcomed_at = asyncio.get_running_loop().time()
        self._ws = ws
        self._trusted = self.endpoint
        try:
            self.backoff.reset()
            self._set(Phase.CONNECTED)
            for request in self.session.pending:  # same op_ids: the room answers, never repeats
                await ws.send(encode(request))
            async for raw in ws:
                try:
                    message = decode(raw)
                except ProtocolError as exc:
                    log.warning("ignoring a bad message from the room: %s", exc)
                    continue
                self._receive(message)
        finally:
            self._ws = None
            await ws.close()

    def _receive(self, message: Message) -> None:
        received = self.session.receive(message)
        if received.throttled is not None:
            self._send_later(received.throttled)
            return
        if received.answered is not None:
            future = self._answers.pop(received.answered.op_id, None)
            if future is not None and not future.done():
                future.set_result(message)
        elif isinstance(message, ErrorMessage):
            log.warning("room says %s: %s", message.code, message.message)
        if received.refused:
            raise ConnectError(received.refused)
        if received.meeting_changed and self.on_meeting:
            self.on_meeting(self.session.meeting)
        if received.news is not None and self.on_message:
            self.on_message(received.news)
