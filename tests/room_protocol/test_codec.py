from __future__ import annotations

import contextlib
import json
from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from room_protocol import (
    PROTOCOL_VERSION,
    ErrorCode,
    ProtocolError,
    annotations,
    decode,
    encode,
    enrollment,
    live,
    notices,
    records,
    voting,
)
from room_protocol.codec import MAX_MESSAGE_BYTES
from room_protocol.messages import (
    REGISTRY,
    AgendaItem,
    Channel,
    DocumentBegin,
    DocumentEnd,
    DocumentInfo,
    ErrorMessage,
    FetchDocument,
    Hello,
    MeetingRoster,
    MeetingSnapshot,
    MeetingState,
    Role,
    RosterEntry,
    Welcome,
    roster_id,
)

SHA = "ab" * 32

ROSTER = (
    RosterEntry("d1", "Nguyễn Văn An", Role.DELEGATE, "A1", "Hà Nội", voting=True, weight=2),
    RosterEntry("obs", "Press", Role.OBSERVER),
)
SNAPSHOT = MeetingSnapshot(
    meeting_id="council-1",
    title="Hội đồng nhân dân — kỳ họp thứ 7",
    date="2026-11-21",
    location="Hội trường",
    revision=3,
    agenda=(
        AgendaItem("a", "1", "Opening", 5, (SHA,), (AgendaItem("a1", "1.1", "Roll call"),)),
        AgendaItem("b", "2", "Budget", None),
    ),
    documents=(
        DocumentInfo(SHA, "Budget", "budget.pdf", 1234, 12, confidential=True, readers=("d1",)),
    ),
    current_item_id="a1",
)

LIVE_EXAMPLES = [
    live.SignIn("op-1", delegate_id="d1", pin="0421"),
    live.SignIn("op-2", badge="04A1B2C3"),
    live.SignOut("op-3"),
    live.Unlock("op-4", "0421"),
    live.SetCurrentItem("op-5", "a1"),
    live.StepItem("op-6", live.Step.PREVIOUS),
    live.SetItemDone("op-7", "a1", False),
    live.AddItem("op-8", "Late motion", 10, "a", "a1"),
    live.MoveItem("op-9", "b", 0, None),
    live.AttachDocument("op-10", "a", SHA),
    live.SetFollow("op-11", SHA, 3, live.Fit.PAGE),
    live.AllowConfidentialOnDisplay("op-11b", allow=True),
    live.Following("op-12", False),
    live.Announce("op-13", "Lunch break until 13:30"),
    live.MessageSeat("op-14", "A3", "Your microphone is on"),
    live.LockScreens("op-15", True),
    live.RequestService("op-16", live.ServiceKind.WATER, "still, please"),
    live.ResolveService("op-17", "s-1"),
    live.RequestFloor("op-18", live.FloorKind.POINT_OF_ORDER),
    live.WithdrawFloor("op-19"),
    live.GrantFloor("op-20", "d1"),
    live.EndSpeech("op-21"),
    live.ReorderQueue("op-22", ("d2", "d1")),
    live.SetSpeakingLimit("op-23", 120),
    live.Ack("op-1"),
    live.SignedIn("d1", "Nguyễn Văn An", Role.DELEGATE, "A2", "tok", wrong_seat=False),
    live.SignedIn("d1", "Nguyễn Văn An", Role.DELEGATE, "A2", "tok", cache_key="k" * 43),
    live.SignedOut("signed in on another tablet"),
    live.FollowState(7, SHA, 3, live.Fit.WIDTH, following=True),
    live.FollowState(8, None, 0, live.Fit.WIDTH, confidential_on_display=False, withheld=True),
    live.FloorState(
        9,
        live.Speech("d1", "An", live.FloorKind.SPEAK, "2026-11-21T09:00:00+00:00", 120, 12.5),
        (live.QueueEntry("d2", "Bea", live.FloorKind.SPEAK, "2026-11-21T09:01:00+00:00", "A3"),),
        120,
    ),
    live.Announcement("m-1", "Lunch", "Clerk", "2026-11-21T12:00:00+00:00"),
    live.ScreensLocked(True),
    live.ServiceCalls(
        (
            live.ServiceCall(
                "s-1",
                live.ServiceKind.MICROPHONE,
                "",
                "d1",
                "An",
                "A2",
                "2026-11-21T10:00:00+00:00",
            ),
        )
    ),
    live.Alert(live.AlertKind.SEAT_LOCKED, "seat A3 is locked", "2026-11-21T10:00:00+00:00", "A3"),
]

_MOTION = voting.PollSpec(
    "Adopt the 2027 budget",
    voting.PollKind.YES_NO,
    rule=voting.PollRule(voting.Majority.TWO_THIRDS, voting.Base.PRESENT),
    item_id="b",
)
_ELECTION = voting.PollSpec(
    "Board",
    voting.PollKind.ELECTION,
    (
        voting.PollOption("c1", "Lan"),
        voting.PollOption("c2", "Minh"),
        voting.PollOption("c3", "Hoa"),
    ),
    seats=2,
    secret=True,
    weighted=True,
    rule=voting.PollRule(voting.Majority.PLURALITY, tie=voting.Tie.LOT),
)
_RECEIPT = voting.Receipt("p1", "d1", "b-1", "3fa9c2d1", "2026-11-21T10:00:00+00:00")
VOTING_EXAMPLES = [
    voting.CheckIn("op-30", "d2", present=False),
    voting.SetProxy("op-31", "d3", "d1"),
    voting.CreatePoll("op-32", "p1", _MOTION, "motion"),
    voting.OpenPoll("op-33", "p1", override_quorum=True, close_after_seconds=60),
    voting.ClosePoll("op-34", "p1", 30),
    voting.PublishPoll("op-35", "p2", ("c2",)),
    voting.CastBallot("b-1", "p2", "d3", ("c1", "c3")),
    voting.AttendanceState(
        (voting.Presence("d1", voting.CheckMethod.BADGE, "2026-11-21T09:00:00+00:00", "A2"),),
        (voting.Proxy("d3", "d1", "clerk"),),
        members=3,
        present_members=1,
        represented=2,
        required=2,
        quorum_met=True,
        rule=voting.QuorumRule.MAJORITY,
        seating=voting.Seating.ASSIGNED,
    ),
    voting.PollsState(
        (
            voting.Poll("p1", _MOTION, voting.PollState.OPEN, 12, "2026-11-21T10:00:00+00:00"),
            voting.Poll("p2", _ELECTION, voting.PollState.PUBLISHED),
        ),
        (
            voting.PollResult(
                "p2",
                voting.Outcome.DECIDED,
                (voting.OptionCount("c1", 5, 3), voting.OptionCount("c2", 4, 2)),
                ballots=4,
                cast=9,
                abstentions=0,
                base=9,
                required=0,
                winners=("c1", "c2"),
                named=(voting.NamedVote("d1", ("c1",), 2, "d3"),),
            ),
        ),
        ("motion",),
    ),
    voting.PollProgress("p1", 12, 40),
    voting.BallotRecorded("b-1", _RECEIPT),
    voting.Receipts((_RECEIPT,)),
    voting.Receipts((voting.Receipt("p1", "d1", "b-2", "3fa9c2d1", "t", 41, "3f9ac21b5e0d7a94"),)),
    voting.AuditHead(41, "3f9ac21b" + "0" * 56, "2026-11-21T10:00:00.000+00:00", "periodic"),
]

ENROLLMENT_EXAMPLES = [
    enrollment.EnrollRoom("-----BEGIN CERTIFICATE-----\nMIIB...\n-----END CERTIFICATE-----\n"),
    enrollment.EnrollRequest("K7Q2M9XD", "-----BEGIN CERTIFICATE REQUEST-----\n", "Seat A2"),
    enrollment.Enrolled("tablet-1a2b3c4d", "-----BEGIN CERTIFICATE-----\n", "tablet", "A2"),
    enrollment.CreatePairingCode("op-40", enrollment.DeviceKindName.DISPLAY, None, 5, True),
    enrollment.PairingCodeShown(
        "K7Q2-M9XD-4HRT-PW3A",
        "hemicycle://enroll?code=K7Q2-M9XD-4HRT-PW3A&ca=" + "ab" * 32 + "&room=council",
        "2026-11-21T09:10:00.000+00:00",
        enrollment.DeviceKindName.TABLET,
        "A2",
    ),
]

SHA = "ab" * 32
INK = annotations.AnnotationPatch(
    kind=annotations.AnnotationKind.INK, geometry=(10.0, 20.5, 30.0, 40.0), colour="#d32f2f"
)
ANNOTATION_EXAMPLES = [
    annotations.AnnotationOp("op-60", "a-1", SHA, 3, 1_765_000_000_000_000, INK),
    annotations.AnnotationBatch(
        "b-61",
        (
            annotations.BatchedOp("op-61", "a-1", SHA, 3, 1_765_000_000_000_001, INK),
            annotations.BatchedOp(
                "op-62",
                "a-3",
                SHA,
                4,
                1_765_000_000_000_002,
                annotations.AnnotationPatch(deleted=True),
            ),
        ),
    ),
    annotations.AnnotationsKept(
        "b-61", (annotations.OpRefused("op-62", "bad_field", "page 4 is past the last page"),)
    ),
    annotations.AnnotationPace(8.0),
    annotations.AnnotationOps(
        (
            annotations.OpRecord(
                "op-60", "seat-a1", "d1", "a-1", SHA, 3, 1_765_000_000_000_000, INK
            ),
        ),
        last=False,
    ),
    annotations.SharedAnnotations(
        (
            annotations.Annotation(
                "a-2",
                "d2",
                SHA,
                0,
                annotations.AnnotationKind.NOTE,
                (5.0, 5.0),
                text="Xem lại điều 4",
                visibility=annotations.Visibility.EVERYONE,
                author_name="Trần Thị Bình",
            ),
        ),
        replace=True,
    ),
]

CLOSING_EXAMPLES = [
    live.CloseMeeting("op-50", force=True),
    live.CloseBlocked("op-50", ("Adopt the budget",), "Nguyễn Văn An", 2, 1),
    records.RecordProgress(
        "council-1", records.RecordState.BUILDING, "contents", 3, 9, "minutes-vi.pdf"
    ),
    records.RecordProgress("council-1", records.RecordState.FAILED, "seal", 0, 1, "no key"),
    records.RecordUpload("council-1", records.UploadState.UPLOADING, 3, 19, 1 << 20, 12 << 20),
    records.RecordUpload(
        "council-1", records.UploadState.RETRYING, 3, 19, 1 << 20, 12 << 20, 2, "HTTP 503", 130
    ),
    MeetingState(replace(SNAPSHOT, closed_at="2026-11-21T17:05:00.000+00:00")),
    notices.RoomNotice(
        notices.NoticeKind.PACKAGE_IMPORTED, "2026-12-07T13:42:10.512+00:00", "Council", 14
    ),
    notices.RoomNotice(
        notices.NoticeKind.STICK_REJECTED, "2026-12-07T13:43:00.000+00:00", detail="no package"
    ),
]

EXAMPLES = [
    Hello(PROTOCOL_VERSION, Channel.CONTROL, "seat-a1", "Seat A1"),
    Hello(PROTOCOL_VERSION, Channel.ENROLL, "enrolling", "Seat A2"),
    Hello(PROTOCOL_VERSION, Channel.DOCUMENTS, "seat-a1"),
    FetchDocument(SHA, 1024),
    Welcome(PROTOCOL_VERSION, "room-1", "Council chamber", "2026-11-21T09:00:00+00:00", "s1"),
    MeetingState(SNAPSHOT),
    MeetingState(replace(SNAPSHOT, roster_id=roster_id(ROSTER))),
    MeetingRoster(roster_id(ROSTER), ROSTER),
    MeetingState(None),
    DocumentBegin(SHA, 10, 0, 262144),
    DocumentBegin(SHA, 12, 0, 262144, delivered_sha256="b" * 64),
    DocumentEnd(SHA, 10),
    ErrorMessage("not_found", "no such document", SHA),
    *LIVE_EXAMPLES,
    *VOTING_EXAMPLES,
    *ENROLLMENT_EXAMPLES,
    *CLOSING_EXAMPLES,
    *ANNOTATION_EXAMPLES,
]


def test_every_registered_message_has_an_example() -> None:
    assert {type(m).TYPE for m in EXAMPLES} == set(REGISTRY)


@pytest.mark.parametrize("message", EXAMPLES, ids=lambda m: type(m).TYPE)
def test_round_trip(message: object) -> None:
    text = encode(message)  # type: ignore[arg-type]
    assert decode(text) == message
    assert decode(text.encode()) == message
    assert json.loads(text)["type"] == type(message).TYPE


def test_snapshot_walk_is_reading_order() -> None:
    assert [(d, i.id) for d, i in SNAPSHOT.walk()] == [(0, "a"), (1, "a1"), (0, "b")]


def hello(**fields: object) -> str:
    body: dict[str, object] = {
        "type": "hello",
        "protocol_version": 1,
        "channel": "control",
        "client_id": "seat-1",
    }
    body.update(fields)
    return json.dumps({k: v for k, v in body.items() if v is not ...})


BAD = [
    ("{", ErrorCode.MALFORMED, "not valid JSON"),
    (b"\xff\xfe", ErrorCode.MALFORMED, "not UTF-8"),
    ("[1, 2]", ErrorCode.MALFORMED, "must be a JSON object"),
    ('{"protocol_version": 1}', ErrorCode.MALFORMED, "no string field 'type'"),
    ('{"type": "vote.cast"}', ErrorCode.UNKNOWN_TYPE, "unknown message type 'vote.cast'"),
    (hello(protocol_version=...), ErrorCode.MISSING_FIELD, "hello.protocol_version"),
    (hello(protocol_version="1"), ErrorCode.BAD_FIELD, "expected an integer"),
    (hello(protocol_version=True), ErrorCode.BAD_FIELD, "expected an integer"),
    (hello(protocol_version=-1), ErrorCode.BAD_FIELD, "at least 0"),
    (hello(channel="video"), ErrorCode.BAD_FIELD, "'video' is not one of"),
    (hello(client_id="../etc"), ErrorCode.BAD_FIELD, "hello.client_id"),
    (hello(client_id="x" * 65), ErrorCode.BAD_FIELD, "longer than 64"),
    (hello(admin=True), ErrorCode.UNEXPECTED_FIELD, "unexpected field 'admin'"),
    ('{"type": "hello", "type": "hello"}', ErrorCode.MALFORMED, "duplicate key 'type'"),
    ('{"type": "document.fetch", "sha256": "AB"}', ErrorCode.BAD_FIELD, "not well formed"),
    (
        '{"type": "document.fetch", "sha256": "' + SHA + '", "offset": NaN}',
        ErrorCode.MALFORMED,
        "NaN is not allowed",
    ),
    (
        '{"type": "meeting.state", "meeting": {"meeting_id": 5}}',
        ErrorCode.BAD_FIELD,
        "meeting.state.meeting.meeting_id: expected a string",
    ),
    ("[" * 100_000 + "]" * 100_000, ErrorCode.MALFORMED, "not valid JSON"),
    # Half a surrogate pair, escaped: valid JSON, not text (UTF-8 cannot carry it).
    (
        '{"type": "service.request", "op_id": "s", "kind": "water", "text": "\\ud800"}',
        ErrorCode.BAD_FIELD,
        "service.request.text: holds half of a UTF-16 surrogate pair",
    ),
    (
        '{"type": "annotation.op", "op_id": "a", "annotation_id": "n", "sha256": "'
        + SHA
        + '", "page": 0, "stamp": 1, "patch": {"text": "x\\udfffy"}}',
        ErrorCode.BAD_FIELD,
        "annotation.op.patch.text: holds half",
    ),
]


@pytest.mark.parametrize(("raw", "code", "text"), BAD)
def test_bad_input_is_refused_with_a_reason(raw: str | bytes, code: ErrorCode, text: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        decode(raw)
    assert caught.value.code is code
    assert text in str(caught.value)


def test_a_surrogate_pair_is_one_character_and_decodes() -> None:
    raw = '{"type": "service.request", "op_id": "s", "kind": "water", "text": "\\ud83d\\ude00"}'
    message = decode(raw)
    assert isinstance(message, live.RequestService)
    assert message.text == "\U0001f600"


# st.text() never draws a surrogate: a list of characters joined does
@given(st.lists(st.sampled_from("\ud800\udbff\udc00\udfff") | st.characters(), max_size=8))
def test_every_string_decoded_can_be_stored_and_sent(characters: list[str]) -> None:
    """What decode accepts, SQLite and the WebSocket layer can write as UTF-8."""
    text = "".join(characters)
    raw = json.dumps({"type": "service.request", "op_id": "s", "kind": "water", "text": text})
    try:
        message = decode(raw)
    except ProtocolError as refused:
        assert refused.code is ErrorCode.BAD_FIELD
        return
    encode(message).encode("utf-8")


def test_oversized_message_is_refused_before_parsing() -> None:
    raw = '{"type": "hello", "client_name": "' + "x" * MAX_MESSAGE_BYTES + '"}'
    with pytest.raises(ProtocolError) as caught:
        decode(raw)
    assert caught.value.code is ErrorCode.TOO_LARGE


@given(st.text(max_size=300))
def test_arbitrary_text_never_crashes(raw: str) -> None:
    with contextlib.suppress(ProtocolError):
        decode(raw)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(
    st.sampled_from(sorted(REGISTRY)),
    st.dictionaries(
        st.sampled_from(
            [
                "protocol_version",
                "channel",
                "client_id",
                "sha256",
                "offset",
                "meeting",
                "size",
                "code",
                "message",
                "ref",
                "room_id",
                "chunk_size",
                "extra",
            ]
        ),
        json_values,
        max_size=6,
    ),
)
def test_arbitrary_objects_decode_or_raise_protocol_error(
    tag: str, fields: dict[str, object]
) -> None:
    try:
        message = decode(json.dumps({"type": tag, **fields}))
    except ProtocolError:
        return
    assert decode(encode(message)) == message


@pytest.mark.parametrize(
    "bad",
    [
        '{"type":"audit.head","seq":-1,"head":"' + "a" * 64 + '","at":"t","reason":"r"}',
        '{"type":"audit.head","seq":1,"head":"' + "A" * 64 + '","at":"t","reason":"r"}',
        '{"type":"audit.head","seq":1,"head":"abc","at":"t","reason":"r"}',
        '{"type":"audit.head","seq":1,"head":"'
        + "a" * 64
        + '","at":"t","reason":"'
        + "r" * 501
        + '"}',
        '{"type":"poll.receipts","receipts":[{"poll_id":"p","delegate_id":"d","ballot_id":"b",'
        '"code":"c","at":"t","head_seq":1,"head":"3F9AC21B5E0D7A94"}]}',
    ],
)
def test_audit_head_and_receipt_head_limits(bad: str) -> None:
    with pytest.raises(ProtocolError):
        decode(bad)
