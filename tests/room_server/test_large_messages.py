"""Large messages (the meeting state of a 2,000-member meeting) go out in fragments, each
written while the connection takes more: whole and in order at every tablet, a tablet
that stops reading included."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from websockets.asyncio.client import ClientConnection, connect
from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader
from websockets.uri import parse_uri

from room_protocol import PROTOCOL_VERSION
from room_protocol.codec import decode, encode
from room_protocol.live import FollowState, SetCurrentItem, SetFollow
from room_protocol.messages import Channel, Hello, MeetingRoster, MeetingState, Welcome
from room_server.server import FRAGMENT_BYTES, fragments
from tests.live_clients import Tablet, until
from tests.rooms import RunningRoom, running_room, timeout, write_package

MEMBERS = 2_000  # the meeting state is then ~240 kB: sixty fragments
MOVES = 30  # meeting states sent to a tablet that reads nothing: ~7 MB


async def _slow_reader(room: RunningRoom) -> ClientConnection:
    """A control connection as the client opens it, on a socket whose receive buffer is
    a few kilobytes, so that the room's writes back up quickly once it stops reading."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: the window
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", room.port))
    endpoint = room.endpoint()
    ws = await connect(
        endpoint.uri,
        sock=sock,
        ssl=room.device("tab-slow").context(),
        server_hostname=endpoint.hostname,
        max_size=None,
        compression=None,
        proxy=None,
    )
    await ws.send(encode(Hello(PROTOCOL_VERSION, Channel.CONTROL, "tab-slow")))
    assert isinstance(decode(await asyncio.wait_for(ws.recv(), timeout(10))), Welcome)
    return ws


def _parse(data: bytes) -> list[Frame]:
    """The frames in ``data`` as websockets' own parser reads them (a server's frames are
    unmasked, so they are parsed as a client parses them)."""
    reader = StreamReader()
    reader.feed_data(data)
    reader.feed_eof()
    frames: list[Frame] = []
    parser = Frame.parse(reader.read_exact, mask=False)
    while True:
        try:
            next(parser)
        except StopIteration as done:
            frames.append(done.value)
        except EOFError:
            return frames
        else:
            raise AssertionError("a frame was cut short")
        parser = Frame.parse(reader.read_exact, mask=False)


def test_fragments_reassemble_into_the_message_even_across_a_split_character() -> None:
    text = "Nguyễn Văn An, Trần Thị Bình; " * 2_000  # multi-byte characters everywhere
    data = text.encode()
    frames = _parse(b"".join(fragments(data, size=1_001)))  # boundaries inside characters
    assert [f.opcode for f in frames] == [Opcode.TEXT] + [Opcode.CONT] * (len(frames) - 1)
    assert [f.fin for f in frames] == [False] * (len(frames) - 1) + [True]
    assert all(len(f.data) <= 1_001 for f in frames)
    assert len(frames) == -(-len(data) // 1_001)
    assert b"".join(f.data for f in frames).decode() == text


def test_a_message_that_fits_is_one_final_frame() -> None:
    (frame,) = _parse(b"".join(fragments(b'{"type":"ack"}')))
    assert (frame.opcode, frame.fin, frame.data) == (Opcode.TEXT, True, b'{"type":"ack"}')
    assert _parse(b"".join(fragments(b"")))[0].fin  # an empty message is one final frame


def test_a_server_protocol_accepts_what_fragments_make() -> None:
    """websockets' client protocol takes the fragments (valid RFC 6455: opcodes, fin, UTF-8
    checked across them) and its frames put back the message."""
    client = ClientProtocol(parse_uri("wss://room.local/"), state=State.OPEN, max_size=None)
    text = "Trần Thị Bình " * 5_000
    client.receive_data(b"".join(fragments(text.encode())))
    events = client.events_received()
    assert b"".join(bytes(e.data) for e in events).decode() == text
    assert len(events) == -(-len(text.encode()) // FRAGMENT_BYTES)


async def test_every_tablet_gets_the_large_meeting_state_whole_a_stalled_one_too(
    tmp_path: Path,
) -> None:
    """Tablets connecting to a 2,000-member meeting get its state whole; one that stops
    reading while megabytes of meeting states and page changes pile up for it (more than
    the kernel's socket buffers take: the room queues the rest) gets them all afterwards,
    whole and in order: nothing was written between two fragments."""
    package = write_package(tmp_path / "pkg", more_delegates=MEMBERS)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        chair = await Tablet(room, "tab-chair", "A1").start()
        await chair.sign_in("chair", "1111")
        seat = await Tablet(room, "tab-d1", "A2").start()
        assert len(seat.meeting.roster) == len(chair.meeting.roster) >= MEMBERS
        slow = await _slow_reader(room)
        try:
            slow.transport.pause_reading()  # the tablet reads nothing from here on
            sha = next(d.sha256 for d in chair.meeting.documents if d.title == "Budget 2027")
            items = ["budget-debate", "budget"] * (MOVES // 2)
            for page, item in enumerate(items):
                await chair.ok(SetCurrentItem(chair.op(), item))  # a new meeting state
                await chair.ok(SetFollow(chair.op(), sha, page % 6))  # six pages
            await until(lambda: seat.meeting.current_item_id == items[-1])
            slow.transport.resume_reading()
            current: list[str | None] = []
            pages: list[int] = []
            rosters: list[MeetingRoster] = []
            while len(pages) <= MOVES or len(current) <= MOVES:
                raw = await asyncio.wait_for(slow.recv(), timeout(20))
                message = decode(raw)
                if isinstance(message, MeetingRoster):
                    rosters.append(message)
                elif isinstance(message, MeetingState) and message.meeting is not None:
                    # The roster came once, before the first state; a move sends only
                    # the agenda's state, which names it.
                    [roster] = rosters
                    assert len(roster.roster) >= MEMBERS
                    assert message.meeting.roster == ()
                    assert message.meeting.roster_id == roster.roster_id
                    assert len(raw) < 20_000
                    current.append(message.meeting.current_item_id)
                elif isinstance(message, FollowState):
                    pages.append(message.page)
            # What it got on connecting, then every move's, in order.
            assert current[1:] == items
            assert pages[1:] == [p % 6 for p in range(MOVES)]
        finally:
            await slow.close()
        await seat.stop()
        await chair.stop()
