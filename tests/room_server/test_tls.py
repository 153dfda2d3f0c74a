from __future__ import annotations

from pathlib import Path

from room_server.tls import ensure_certificates


def test_renamed_room_gets_a_new_server_certificate_from_the_same_ca(tmp_path: Path) -> None:
    first = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("a.local",), addresses=("127.0.0.1",)
    )
    ca = first.ca_cert.read_bytes()
    fingerprint = first.fingerprint()
    again = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("a.local",), addresses=()
    )
    assert again.fingerprint() == fingerprint  # nothing changed: nothing re-issued
    renamed = ensure_certificates(
        tmp_path, room_id="r", room_name="R", hostnames=("b.local",), addresses=()
    )
    assert renamed.ca_cert.read_bytes() == ca
    assert renamed.fingerprint() != fingerprint
