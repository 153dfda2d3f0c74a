"""The tablet's shelf of sealed confidential documents, without Qt: sealing with the
member's key, refusing a wrong one, the offline expiry on an injected clock, and the
page renderer opening a sealed file only with its key."""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import secrets
from pathlib import Path

import pymupdf
import pytest

from room_client.confidential import (
    MAGIC,
    ConfidentialShelf,
    SealedUnreadable,
    decode_key,
    unseal,
    unseal_file,
)
from tablet_client.render import PageRenderer, RenderError

SHA = "ab" * 32
HOUR = 3600.0


def watermarked_pdf() -> bytes:
    doc = pymupdf.open()
    for number in (1, 2):
        page = doc.new_page()
        page.insert_text((72, 72), f"Budget page {number}")
        page.insert_text((72, 800), "CONFIDENTIAL · Nguyen Van An · seat A2")
    data: bytes = doc.tobytes()
    doc.close()
    return data


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_sealed_document_shows_nothing_without_its_key(tmp_path: Path) -> None:
    key, plain = secrets.token_bytes(32), watermarked_pdf()
    shelf = ConfidentialShelf(tmp_path / "confidential")
    path = shelf.put("d1", SHA, key, plain)
    sealed = path.read_bytes()
    assert path.stat().st_mode & 0o777 == 0o600
    assert sealed.startswith(MAGIC) and b"%PDF" not in sealed
    for word in (b"CONFIDENTIAL", b"Nguyen", b"Budget", b"/Type"):
        assert word not in sealed
    assert unseal_file(key, path) == plain
    with pytest.raises(SealedUnreadable, match="wrong key"):
        unseal(secrets.token_bytes(32), sealed)
    damaged = bytearray(sealed)
    damaged[-1] ^= 1
    with pytest.raises(SealedUnreadable, match="damaged"):
        unseal(key, bytes(damaged))
    with pytest.raises(SealedUnreadable, match="not a sealed"):
        unseal(key, plain)
    # Sealing twice gives different bytes (a fresh nonce each time).
    assert shelf.put("d1", SHA, key, plain).read_bytes() != sealed


def test_the_key_as_the_room_sends_it(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    text = base64.urlsafe_b64encode(key).rstrip(b"=").decode()
    assert decode_key(text) == key
    with pytest.raises(SealedUnreadable, match="16 bytes, not 32"):
        decode_key(base64.urlsafe_b64encode(key[:16]).rstrip(b"=").decode())


def test_the_shelf_expires_after_the_offline_time(tmp_path: Path) -> None:
    clock = Clock()
    shelf = ConfidentialShelf(tmp_path / "confidential", expiry_seconds=12 * HOUR, clock=clock)
    assert not shelf.expired()  # nothing held
    shelf.put("d1", SHA, secrets.token_bytes(32), watermarked_pdf())
    clock.now += 11 * HOUR
    assert not shelf.expired()
    shelf.touch()  # the tablet reached the room: the twelve hours start again
    clock.now += 11 * HOUR
    assert not shelf.expired()
    clock.now += 2 * HOUR
    assert shelf.expired()
    assert shelf.wipe("offline too long") == 1
    assert shelf.held() == [] and not shelf.path("d1", SHA).exists()
    assert not shelf.expired()


def test_a_shelf_that_cannot_say_when_it_last_saw_the_room_is_expired(tmp_path: Path) -> None:
    shelf = ConfidentialShelf(tmp_path / "confidential")
    shelf.put("d1", SHA, secrets.token_bytes(32), watermarked_pdf())
    (tmp_path / "confidential" / "last-contact").write_text("garbage")
    assert shelf.expired()


def test_each_member_has_their_own_sealed_copies(tmp_path: Path) -> None:
    shelf = ConfidentialShelf(tmp_path / "confidential")
    mine, theirs = secrets.token_bytes(32), secrets.token_bytes(32)
    a = shelf.put("d1", SHA, mine, b"%PDF copy for d1")
    b = shelf.put("d2", SHA, theirs, b"%PDF copy for d2")
    assert a != b and shelf.get("d1", SHA) == a and shelf.get("d3", SHA) is None
    assert unseal_file(theirs, b) == b"%PDF copy for d2"
    with pytest.raises(SealedUnreadable):
        unseal_file(mine, b)
    assert shelf.held() == [a, b]
    assert shelf.wipe("closed") == 2
    assert [p.name for p in (tmp_path / "confidential").iterdir()] == ["last-contact"]


def mappings(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text(encoding="ascii", errors="replace")


def page_buffers() -> set[Path]:
    """This process's page buffers (tmpfs files the renderer's workers draw into)."""
    return set(Path("/dev/shm").glob(f"hemicycle-page-{os.getpid()}-*"))


async def test_the_renderer_opens_a_sealed_document_only_with_its_key(tmp_path: Path) -> None:
    key = secrets.token_bytes(32)
    sealed = ConfidentialShelf(tmp_path / "confidential").put("d1", SHA, key, watermarked_pdf())
    renderer = PageRenderer(cache_bytes=8 * 1024 * 1024)
    renderer.start()
    before = page_buffers()
    try:
        with pytest.raises(RenderError, match="not a readable PDF"):
            await renderer.open(sealed)  # without the key it is noise
        with pytest.raises(RenderError, match="cannot be opened here"):
            await renderer.open(sealed, key=secrets.token_bytes(32))
        layout = await renderer.open(sealed, key=key)
        assert layout.page_count == 2
        page = await renderer.render(sealed, 1, 200)
        assert page.width == 200 and renderer.cached(sealed, 1, 200) is not None
        [buffer] = page_buffers() - before
        for pid in renderer.worker_pids:  # no worker keeps the confidential pixels mapped
            assert buffer.name not in mappings(pid)
        # Put away: its pages, its key and the worker's unsealed copy are gone.
        renderer.forget(sealed)
        assert renderer.cached(sealed, 1, 200) is None
        assert page_buffers() - before  # the page is still held here
        del page
        await asyncio.sleep(0)  # the loop's last references to the result go
        gc.collect()
        assert page_buffers() - before == set()  # its buffer removed, not kept for reuse
        with pytest.raises(RenderError, match="not a readable PDF"):
            await renderer.render(sealed, 0, 200)
    finally:
        await renderer.close()
