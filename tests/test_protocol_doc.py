"""docs/protocol.md is enough to write a client: run the minimal client printed in it
(section 13, plain websockets + json + hashlib) against a real room server. And every
JSON example in it is a message the protocol's own decoder accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from room_protocol import PROTOCOL_VERSION, decode, encode
from tests.rooms import running_room, timeout, write_package

DOC = Path(__file__).parent.parent / "docs" / "protocol.md"


def minimal_client() -> str:
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index("## 13. A minimal client") :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "section 13 of docs/protocol.md has no python example"
    return match.group(1)


def configure(code: str, **constants: object) -> str:
    for name, value in constants.items():
        code, count = re.subn(rf"^{name} = .*$", f"{name} = {value!r}", code, flags=re.MULTILINE)
        assert count == 1, f"the example no longer sets {name}"
    return code


def test_client_written_from_the_docs_reads_agenda_downloads_and_follows(tmp_path: Path) -> None:
    package = write_package(tmp_path / "pkg", voting=True)
    with running_room(tmp_path / "room", package=package, mdns=False) as room:
        code = configure(
            minimal_client(),
            ROOM_HOST=room.hostname,
            ROOM_ADDRESS="127.0.0.1",
            ROOM_PORT=room.port,
            DEVICE_DIR=str(room.device("seat-12").directory),
        )
        client = subprocess.Popen(
            [sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            assert client.stdout is not None
            lines = [client.stdout.readline() for _ in range(4)]
            assert lines[0].startswith(room.room_name) and "Test council" in lines[0], lines
            assert all(line.rstrip().endswith("hash ok") for line in lines[1:]), lines
            # Sent right after welcome, read once the downloads are done. The voting
            # members are d1 to d5; a majority quorum of 5 is 3.
            attendance = client.stdout.readline()
            assert attendance.rstrip() == (
                "present: 0 of 5 voting members; quorum not met (3 needed)"
            ), attendance
            amended = write_package(tmp_path / "v2", extra_item="Late motion", voting=True)
            assert room.cli("import", str(amended)).returncode == 0
            deadline = time.monotonic() + timeout(10)
            update = client.stdout.readline()
            assert time.monotonic() < deadline
            assert update.startswith("meeting changed, revision 2"), update
        finally:
            client.kill()
            _, errors = client.communicate(timeout=10)
        assert "Traceback" not in errors.replace("KeyboardInterrupt", ""), errors


def json_examples() -> list[tuple[int, str]]:
    """Every ```json block of the document, with its line number."""
    text = DOC.read_text(encoding="utf-8")
    return [
        (text.count("\n", 0, match.start()) + 1, match.group(1))
        for match in re.finditer(r"```json\n(.*?)```", text, re.DOTALL)
    ]


@pytest.mark.parametrize(("line", "example"), json_examples(), ids=lambda v: str(v)[:40])
def test_every_json_example_decodes(line: int, example: str) -> None:
    message = decode(example)
    compact = example.count("\n") == 1  # one line, as on the wire
    if compact:
        assert encode(message) + "\n" == example, f"line {line}: not as the encoder writes it"
    if '"protocol_version"' in example:
        assert f'"protocol_version":{PROTOCOL_VERSION}' in example.replace(" ", ""), line
