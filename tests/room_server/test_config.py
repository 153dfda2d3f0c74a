from __future__ import annotations

from pathlib import Path

import pytest

from room_server.config import ConfigError, ServerConfig, load_config

FULL = """
[room]
id = "council-chamber"
name = "Phòng họp Hội đồng"
[server]
host = "127.0.0.1"
port = 9443
max_connections = 2500
max_connections_per_address = 4
[mdns]
enabled = true
interfaces = ["127.0.0.1"]
hostname = "council-box"
[tls]
hostnames = ["council.example.internal"]
addresses = ["127.0.0.1"]
[documents]
chunk_size = 131072
max_transfers = 32
[limits]
requests_per_second = 5.5
request_burst = 20
flood_close_after = 100
send_buffer_bytes = 1048576
stall_seconds = 12
[storage]
state_dir = "state"
poll_seconds = 1
"""


def test_defaults_without_a_file() -> None:
    config = load_config(None)
    assert config == ServerConfig()
    assert config.port == 8443
    assert config.database_path == Path("/var/lib/hemicycle/room.sqlite3")


def test_every_key(tmp_path: Path) -> None:
    path = tmp_path / "room-server.toml"
    path.write_text(FULL, encoding="utf-8")
    config = load_config(path)
    assert config.room_name == "Phòng họp Hội đồng"
    assert config.mdns_interfaces == ("127.0.0.1",)
    assert config.chunk_size == 131072 and config.max_transfers == 32
    assert config.store_poll_seconds == 1.0
    assert config.max_connections_per_address == 4
    assert (config.requests_per_second, config.request_burst, config.flood_close_after) == (
        5.5,
        20,
        100,
    )
    assert (config.send_buffer_bytes, config.stall_seconds) == (1048576, 12.0)
    assert config.state_dir == tmp_path / "state"  # relative to the file
    assert load_config(path, state_dir=tmp_path / "x").state_dir == tmp_path / "x"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[room\n", "not valid TOML"),
        ("[rooms]\nid = 'x'\n", "unknown table [rooms]"),
        ("[room]\nname2 = 'x'\n", "unknown key room.name2; known: id, name"),
        ("[server]\nport = '8443'\n", "server.port must be a whole number"),
        ("[server]\nport = 70000\n", "server.port must be 0-65535"),
        ("[mdns]\nenabled = 1\n", "mdns.enabled must be true or false"),
        ("[mdns]\ninterfaces = '127.0.0.1'\n", "must be a list of strings"),
        ("[mdns]\ninterfaces = ['eth0']\n", "'eth0' is not an IP address"),
        ("[room]\nid = 'Council Chamber'\n", "room.id 'Council Chamber' must be"),
        ("[documents]\nchunk_size = 10\n", "chunk_size must be 16 KiB to 4 MiB"),
        ("[documents]\nmax_transfers = 0\n", "documents.max_transfers must be 1-1000"),
        ("[documents]\nmax_transfers = 'many'\n", "max_transfers"),
        ("room = 1\n", "room must be a table"),
        ("port = 8443\n", "put it under [server]"),
        ('[server]\nhost = "council.local"\n', "server.host 'council.local' must be an IP"),
        (
            "[server]\nmax_connections = 10\nmax_connections_per_address = 11\n",
            "server.max_connections_per_address must be 1 to server.max_connections (10)",
        ),
        ("[server]\nmax_connections_per_address = 0\n", "max_connections_per_address must be 1"),
        ("[limits]\nrequests_per_second = 0\n", "limits.requests_per_second must be 0.1-"),
        ("[limits]\nrequests_per_second = '10'\n", "limits.requests_per_second must be a number"),
        ("[limits]\nrequest_burst = 0\n", "limits.request_burst must be 1-100000"),
        ("[limits]\nrequest_burst = 2.5\n", "limits.request_burst must be a whole number"),
        ("[limits]\nflood_close_after = 0\n", "limits.flood_close_after must be 1-"),
        ("[limits]\nsend_buffer_bytes = 1000\n", "send_buffer_bytes must be 64 KiB to 1 GiB"),
        ("[limits]\nstall_seconds = 0.5\n", "limits.stall_seconds must be 1-3600"),
        ("[limits]\nrate = 1\n", "unknown key limits.rate; known: requests_per_second"),
    ],
)
def test_bad_files_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(tmp_path / "nope.toml")


def test_sign_in_limits(tmp_path: Path) -> None:
    from room_server.config import failure_limits

    path = tmp_path / "room.toml"
    path.write_text("[sign_in]\nmember_failures = 3\ndevice_lockout_seconds = 60\n")
    limits = failure_limits(load_config(path))
    assert (limits.member_failures, limits.device_lockout_s) == (3, 60.0)
    assert limits.room_failures == 30
    path.write_text("[sign_in]\nmember_failures = 0\n")
    with pytest.raises(ConfigError, match=r"sign_in.member_failures must be 1-10000"):
        load_config(path)


def test_annotation_limits(tmp_path: Path) -> None:
    from room_server.config import annotation_limits
    from room_server.rules.annotations import AnnotationLimits

    assert annotation_limits(load_config(None)) == AnnotationLimits(5_000, 4 * 1024 * 1024)
    path = tmp_path / "room.toml"
    path.write_text("[annotations]\nmax_per_member = 200\nmax_bytes_per_member = 65536\n")
    assert annotation_limits(load_config(path)) == AnnotationLimits(200, 65536)
    for text, message in (
        ("[annotations]\nmax_per_member = 0\n", "annotations.max_per_member must be 1-"),
        ("[annotations]\nmax_bytes_per_member = 10\n", "max_bytes_per_member must be 1 KiB"),
        ("[annotations]\nmax_bytes_per_member = 1.5\n", "must be a whole number"),
        ("[annotations]\nrate = 2\n", "unknown key annotations.rate; known: max_per_member"),
    ):
        path.write_text(text)
        with pytest.raises(ConfigError, match=message):
            load_config(path)
