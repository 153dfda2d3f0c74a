"""``room-provision doctor``: is this room ready to run a meeting, and if not, what
command fixes it.

The facts come from ``room-server inspect`` (the room server owns the configuration,
keys and schema); what only this box can tell — the clock, free space, file modes,
whether the room is seen over mDNS, whether the unit is enabled — is looked at here.
Every check is pure over those facts and an injected clock, but for the mDNS browse and
``systemctl``, which are passed in.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import os
import re
import shlex
import shutil
import stat
import subprocess
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from provisioning.i18n import tr

CERT_WARN_DAYS = 30
MIN_FREE_BYTES = 1024**3  # 1 GiB: a meeting's record with annotated PDFs can be hundreds of MB
FILE_CLOCK_SLACK = dt.timedelta(minutes=2)  # a file written just now may carry a later mtime
MDNS_SECONDS = 3.0  # RFC 6762 §8.3: a new record is announced within about a second
RESOLVE_SECONDS = 2.0  # avahi-resolve waits 5 s for a record nobody has: enough for a local one
AVAHI_CONF = "/etc/avahi/avahi-daemon.conf"
_AVAHI_ESCAPE = re.compile(rb"\\(\d{3}|.)", re.S)  # avahi_escape_label: \DDD (a byte) or \c
UNIT = "hemicycle-room-server.service"


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"  # works today, needs fixing (an expiring certificate, every interface)
    FAIL = "fail"
    SKIP = "skip"  # cannot be checked here; the text says why


@dataclass(frozen=True, slots=True)
class Check:
    name: str  # stable, for --json: "certificate.server", "mdns.visible", ...
    status: Status
    text: str
    fix: str = ""  # the command (or setting) that fixes it


def healthy(checks: list[Check]) -> bool:
    return all(c.status in (Status.OK, Status.SKIP) for c in checks)


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"ok": healthy(checks), "checks": [asdict(c) for c in checks]}


@dataclass(frozen=True, slots=True)
class AvahiService:
    """One resolved service as ``avahi-browse -rp`` prints it (an ``=`` line)."""

    interface: str
    protocol: str  # "IPv4" or "IPv6": how avahi heard it
    instance: str
    hostname: str
    address: str
    port: int
    txt: dict[str, str]
    host_addresses: tuple[str, ...] = ()  # every address avahi gives for ``hostname``


AvahiBrowse = Callable[[float], "list[AvahiService] | str"]


def avahi_browse(seconds: float, prefix: tuple[str, ...] = ()) -> list[AvahiService] | str:
    """What the box's avahi-daemon sees of ``_hemicycle._tcp`` (resolved), or why it cannot
    be asked (not installed, not running). ``prefix`` runs it elsewhere (the tests: inside a
    network namespace)."""
    from room_protocol.discovery import SERVICE_TYPE

    if not prefix and shutil.which("avahi-browse") is None:
        return tr("doctor.avahi_not_installed")
    service_type = SERVICE_TYPE.removesuffix(".local.")
    try:
        result = subprocess.run(
            [*prefix, "avahi-browse", "--resolve", "--terminate", "--parsable", service_type],
            capture_output=True,
            timeout=seconds + 10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"avahi-browse: {exc}"
    if result.returncode != 0:
        return tr("doctor.avahi_not_running", error=_one_line(result.stderr))
    services = parse_avahi_browse(result.stdout)
    hosts = avahi_resolve({s.hostname for s in services}, prefix)
    return [dataclasses.replace(s, host_addresses=hosts[s.hostname]) for s in services]


def avahi_resolve(
    hostnames: Iterable[str], prefix: tuple[str, ...] = ()
) -> dict[str, tuple[str, ...]]:
    """The IPv4 and IPv6 addresses avahi gives for each host name, all asked at once and
    given RESOLVE_SECONDS (a name without an IPv6 address is never answered)."""
    asked = [
        (
            hostname,
            subprocess.Popen(
                [*prefix, "avahi-resolve", flag, "--name", hostname],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            ),
        )
        for hostname in sorted(set(hostnames))
        for flag in ("-4", "-6")
    ]
    found: dict[str, list[str]] = {hostname: [] for hostname, _ in asked}
    deadline = time.monotonic() + RESOLVE_SECONDS
    for hostname, process in asked:
        try:
            out, _ = process.communicate(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        for line in out.decode("utf-8", "replace").splitlines():
            _name, _, address = line.partition("\t")
            if address.strip():
                found[hostname].append(address.strip())
    return {hostname: tuple(addresses) for hostname, addresses in found.items()}


def _one_line(raw: bytes) -> str:
    return " ".join(raw.decode("utf-8", "replace").split())[:200]


def avahi_unescape(text: bytes) -> str:
    """A field of ``avahi-browse --parsable`` as the text it stands for."""
    raw = _AVAHI_ESCAPE.sub(lambda m: bytes([int(m[1])]) if len(m[1]) == 3 else m[1], text)
    return raw.decode("utf-8", "replace")


def parse_avahi_browse(output: bytes) -> list[AvahiService]:
    """The resolved services (``=`` lines) of ``avahi-browse --resolve --parsable``."""
    found = []
    for line in output.splitlines():
        fields = line.split(b";", 9)
        if len(fields) != 10 or fields[0] != b"=":
            continue
        _, interface, protocol, name, _type, _domain, host, address, port, txt = fields
        if not port.isdigit():
            continue
        found.append(
            AvahiService(
                interface=interface.decode("ascii", "replace"),
                protocol=protocol.decode("ascii", "replace"),
                instance=avahi_unescape(name),
                hostname=avahi_unescape(host),
                address=avahi_unescape(address),
                port=int(port),
                txt=_avahi_txt(txt),
            )
        )
    return found


def _avahi_txt(field: bytes) -> dict[str, str]:
    """``"k=v" "k2=v2"``: each string quoted, a quote inside escaped."""
    txt: dict[str, str] = {}
    for item in re.findall(rb'"((?:[^"\\]|\\.)*)"', field):
        key, _, value = avahi_unescape(item).partition("=")
        txt.setdefault(key.lower(), value)
    return txt


@dataclass(frozen=True, slots=True)
class Probes:
    """What the doctor asks the box: free bytes, the mDNS browse, systemd, avahi."""

    free_bytes: Callable[[Path], int]
    browse: Callable[[str, tuple[str, ...], float], tuple[str, int] | None]
    systemd: Callable[[], bool]
    unit_state: Callable[[str], str]
    avahi: AvahiBrowse = avahi_browse


def box_probes() -> Probes:
    return Probes(
        free_bytes=lambda path: shutil.disk_usage(path).free,
        browse=browse_room,
        systemd=systemd_is_init,
        unit_state=unit_state,
        avahi=avahi_browse,
    )


def diagnose(config: Path, facts: dict[str, Any], now: dt.datetime, probes: Probes) -> list[Check]:
    state = Path(facts["state_dir"])
    server = shlex.join(["room-server", "--config", str(config)])
    on_systemd = probes.systemd()
    checks = [_running(facts, server, on_systemd)]
    checks += _certificates(facts, server, now, on_systemd)
    checks += _keys(facts, server)
    checks.append(_clock(facts, state, now))
    checks.append(_disk(state, probes, server))
    checks.append(_integrity(facts, server, config))
    checks += _modes(facts)
    checks += _interfaces(facts, config)
    checks.append(_mdns(facts, probes))
    checks.append(_avahi(facts, probes))
    checks.append(_unit(on_systemd, probes))
    checks.append(_devices(facts))
    return checks


def _running(facts: dict[str, Any], server: str, on_systemd: bool) -> Check:
    running = facts.get("running")
    if running:
        return Check(
            "server.running",
            Status.OK,
            tr("doctor.running", pid=running["pid"], port=running["port"]),
        )
    fix = f"systemctl start {UNIT}" if on_systemd else f"{server} run"
    return Check("server.running", Status.FAIL, tr("doctor.not_running"), fix)


def _certificates(
    facts: dict[str, Any], server: str, now: dt.datetime, on_systemd: bool
) -> list[Check]:
    checks = []
    # `rotate` refuses a running server (it keeps the certificates it loaded).
    stop, start = (
        (f"systemctl stop {UNIT} && ", f" && systemctl start {UNIT}") if on_systemd else ("", "")
    )
    renew = {
        # A new server certificate from the same room CA: enrolled tablets keep trusting it.
        "server": f"{stop}{server} rotate server-certificate{start}",
        # A new room CA: every tablet enrolls again.
        "ca": f"{stop}{server} rotate ca{start}",
    }
    labels = {"ca": tr("doctor.cert_ca"), "server": tr("doctor.cert_server")}
    for which, label in labels.items():
        cert = facts["certificates"][which]
        name = f"certificate.{which}"
        if not cert["exists"]:
            checks.append(
                Check(
                    name,
                    Status.FAIL,
                    tr("doctor.missing", what=label, path=cert["path"]),
                    f"{server} init",
                )
            )
            continue
        if "error" in cert:
            checks.append(Check(name, Status.FAIL, f"{label}: {cert['error']}", renew[which]))
            continue
        until = dt.datetime.fromisoformat(cert["not_after"])
        days = (until - now).days
        day = until.date().isoformat()
        if until <= now:
            checks.append(
                Check(
                    name, Status.FAIL, tr("doctor.cert_expired", what=label, date=day), renew[which]
                )
            )
        elif until - now < dt.timedelta(days=CERT_WARN_DAYS):
            checks.append(
                Check(
                    name,
                    Status.WARN,
                    tr("doctor.cert_expires_soon", what=label, date=day, days=days),
                    renew[which],
                )
            )
        else:
            checks.append(
                Check(name, Status.OK, tr("doctor.cert_valid", what=label, date=day, days=days))
            )
    return checks


def _keys(facts: dict[str, Any], server: str) -> list[Check]:
    keys = facts["keys"]
    checks = []
    labels = {
        "signing_key": tr("doctor.key_signing_key"),
        "signing_public": tr("doctor.key_signing_public"),
        "room_secret": tr("doctor.key_room_secret"),
    }
    for key, label in labels.items():
        path = Path(keys[key])
        if path.exists():
            checks.append(
                Check(f"key.{key}", Status.OK, tr("doctor.present", what=label, path=path))
            )
        else:
            checks.append(
                Check(
                    f"key.{key}",
                    Status.FAIL,
                    tr("doctor.missing", what=label, path=path),
                    f"{server} init",
                )
            )
    return checks


def _clock(facts: dict[str, Any], state: Path, now: dt.datetime) -> Check:
    """An air-gapped box has no time server: a clock reset to a factory date would stamp
    votes and records wrongly. The newest audit entry, the database's last write and the
    server certificate's start (made here, back-dated 2 days) are all in the past of a
    clock that is right."""
    newest: list[tuple[dt.datetime, str]] = []
    at = facts["database"].get("newest_entry_at")
    if at:
        newest.append((dt.datetime.fromisoformat(at), tr("doctor.clock_audit")))
    for name in ("room.sqlite3", "room.sqlite3-wal"):
        path = state / name
        if path.exists():
            written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
            newest.append((written - FILE_CLOCK_SLACK, tr("doctor.clock_write", path=path)))
    begins = facts["certificates"]["server"].get("not_before")
    if begins:
        newest.append((dt.datetime.fromisoformat(begins), tr("doctor.clock_cert")))
    later = [(when, what) for when, what in newest if when > now]
    shown = now.strftime("%Y-%m-%d %H:%M:%S")
    if not later:
        return Check("clock", Status.OK, tr("doctor.clock_ok", now=shown))
    when, what = max(later)
    return Check(
        "clock",
        Status.FAIL,
        tr("doctor.clock_behind", now=shown, what=what, then=when.strftime("%Y-%m-%d %H:%M:%S")),
        "timedatectl set-time 'YYYY-MM-DD HH:MM:SS'  # " + tr("doctor.clock_fix"),
    )


def _disk(state: Path, probes: Probes, server: str) -> Check:
    try:
        free = probes.free_bytes(state)
    except OSError as exc:
        return Check("disk", Status.FAIL, f"{state}: {exc.strerror}", f"{server} init")
    shown = f"{free / 1024**3:.1f} GiB"
    if free < MIN_FREE_BYTES:
        return Check(
            "disk", Status.WARN, tr("doctor.disk_low", free=shown, path=state), f"df -h {state}"
        )
    return Check("disk", Status.OK, tr("doctor.disk_ok", free=shown, path=state))


def _integrity(facts: dict[str, Any], server: str, config: Path) -> Check:
    database = facts["database"]
    if not database["exists"]:
        return Check(
            "database.integrity",
            Status.FAIL,
            tr("doctor.missing", what=tr("doctor.database"), path=database["path"]),
            f"{server} init",
        )
    problems = database.get("integrity", [])
    if problems == ["ok"]:
        return Check(
            "database.integrity",
            Status.OK,
            tr("doctor.integrity_ok", version=database.get("schema_version")),
        )
    return Check(
        "database.integrity",
        Status.FAIL,
        tr("doctor.integrity_bad", problems="; ".join(problems[:3])),
        f"room-provision restore --config {shlex.quote(str(config))} BACKUP",
    )


def _modes(facts: dict[str, Any]) -> list[Check]:
    checks = []
    for key, path_text in facts["keys"].items():
        path = Path(path_text)
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            checks.append(
                Check(
                    f"mode.{key}",
                    Status.FAIL,
                    tr("doctor.mode_open", path=path, mode=f"{mode:04o}", want="0600"),
                    f"chmod 600 {shlex.quote(str(path))}",
                )
            )
    for path_text in facts["private_dirs"]:
        path = Path(path_text)
        if not path.exists():
            continue
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            checks.append(
                Check(
                    "mode.dir",
                    Status.FAIL,
                    tr("doctor.mode_open", path=path, mode=f"{mode:04o}", want="0700"),
                    f"chmod 700 {shlex.quote(str(path))}",
                )
            )
    if not checks:
        checks.append(Check("mode", Status.OK, tr("doctor.modes_ok")))
    return checks


def _interfaces(facts: dict[str, Any], config: Path) -> list[Check]:
    every = ", ".join(facts["addresses"]) or "-"
    checks = []
    port = (facts.get("running") or {}).get("port", facts["port"])
    if facts["host"]:
        checks.append(
            Check("listen", Status.OK, tr("doctor.listen_on", host=facts["host"], port=port))
        )
    else:
        checks.append(
            Check(
                "listen",
                Status.WARN,
                tr("doctor.listen_every", addresses=every),
                tr("doctor.set_in", setting='[server] host = "ADDRESS"', config=config),
            )
        )
    if not facts["mdns_enabled"]:
        checks.append(Check("advertise", Status.OK, tr("doctor.advertise_off")))
    elif facts["mdns_interfaces"]:
        shown = ", ".join(facts["mdns_interfaces"])
        checks.append(Check("advertise", Status.OK, tr("doctor.advertise_on", addresses=shown)))
    else:
        checks.append(
            Check(
                "advertise",
                Status.WARN,
                tr("doctor.advertise_every", addresses=every),
                tr("doctor.set_in", setting='[mdns] interfaces = ["ADDRESS"]', config=config),
            )
        )
    return checks


def _mdns(facts: dict[str, Any], probes: Probes) -> Check:
    if not facts["mdns_enabled"]:
        return Check("mdns.visible", Status.SKIP, tr("doctor.advertise_off"))
    if not facts.get("running"):
        return Check("mdns.visible", Status.SKIP, tr("doctor.mdns_not_running"))
    interfaces = tuple(facts["mdns_interfaces"])
    seen = probes.browse(facts["room_id"], interfaces, MDNS_SECONDS)
    where = ", ".join(interfaces) or tr("doctor.every_interface")
    if seen is None:
        return Check(
            "mdns.visible",
            Status.FAIL,
            tr("doctor.mdns_unseen", room=facts["room_id"], where=where, seconds=MDNS_SECONDS),
            tr("doctor.mdns_fix"),
        )
    name, port = seen
    return Check(
        "mdns.visible", Status.OK, tr("doctor.mdns_seen", name=name, port=port, where=where)
    )


def _avahi(facts: dict[str, Any], probes: Probes) -> Check:
    if not facts["mdns_enabled"]:
        return Check("mdns.avahi", Status.SKIP, tr("doctor.advertise_off"))
    if not facts.get("running"):
        return Check("mdns.avahi", Status.SKIP, tr("doctor.mdns_not_running"))
    interfaces = facts["mdns_interfaces"]
    if interfaces and all(ipaddress.ip_address(a).is_loopback for a in interfaces):
        return Check("mdns.avahi", Status.SKIP, tr("doctor.avahi_loopback"))
    check = avahi_check(facts["room_id"], facts["host"], probes.avahi(MDNS_SECONDS))
    if check.status is Status.FAIL:
        # avahi-browse ends at "all for now": an answer still on its way is seen next time.
        check = avahi_check(facts["room_id"], facts["host"], probes.avahi(MDNS_SECONDS))
    return check


def avahi_check(room_id: str, host: str, seen: list[AvahiService] | str) -> Check:
    """Whether the box's own mDNS stack (avahi) sees the room, as other RFC 6763 browsers
    do, at the address the room listens on (``host``; "" for every address)."""
    if isinstance(seen, str):
        return Check("mdns.avahi", Status.SKIP, seen)
    mine = [s for s in seen if s.txt.get("room") == room_id]
    if not mine:
        return Check(
            "mdns.avahi",
            Status.FAIL,
            tr("doctor.avahi_unseen", room=room_id),
            tr("doctor.avahi_unseen_fix", conf=AVAHI_CONF),
        )
    first = mine[0]
    given = {s.address for s in mine} | {a for s in mine for a in s.host_addresses}
    elsewhere = sorted(a for a in given if host and a != host)
    if elsewhere:
        return Check(
            "mdns.avahi",
            Status.WARN,
            tr(
                "doctor.avahi_elsewhere",
                name=first.hostname,
                addresses=", ".join(elsewhere),
                host=host,
            ),
            tr("doctor.avahi_elsewhere_fix", conf=AVAHI_CONF),
        )
    return Check(
        "mdns.avahi",
        Status.OK,
        tr(
            "doctor.avahi_seen",
            name=first.txt.get("name", first.instance),
            host=first.hostname,
            address=first.address,
            port=first.port,
        ),
    )


def _unit(on_systemd: bool, probes: Probes) -> Check:
    if not on_systemd:
        return Check("systemd.unit", Status.SKIP, tr("doctor.no_systemd"))
    state = probes.unit_state(UNIT)
    if state == "enabled":
        return Check("systemd.unit", Status.OK, tr("doctor.unit_enabled", unit=UNIT))
    if state in ("not-found", "") or "No such file" in state:
        return Check(
            "systemd.unit",
            Status.FAIL,
            tr("doctor.unit_missing", unit=UNIT),
            f"install -m 644 systemd/{UNIT} /etc/systemd/system/ && systemctl daemon-reload"
            f" && systemctl enable --now {UNIT}",
        )
    return Check(
        "systemd.unit",
        Status.FAIL,
        tr("doctor.unit_not_enabled", unit=UNIT, state=state),
        f"systemctl enable --now {UNIT}",
    )


def _devices(facts: dict[str, Any]) -> Check:
    devices = facts["database"].get("devices")
    if devices is None:
        return Check("devices", Status.SKIP, tr("doctor.devices_unknown"))
    return Check(
        "devices",
        Status.OK,
        tr("doctor.devices", enrolled=devices["enrolled"], revoked=devices["revoked"]),
    )


# --- the box -------------------------------------------------------------------------


def systemd_is_init() -> bool:
    """systemd runs this box (not a container's shell or another init)."""
    try:
        return Path("/proc/1/comm").read_text().strip() == "systemd"
    except OSError:
        return False


def unit_state(unit: str) -> str:
    try:
        result = subprocess.run(
            ["systemctl", "is-enabled", unit], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"systemctl: {exc}"
    return result.stdout.strip() or result.stderr.strip() or f"exit {result.returncode}"


def browse_room(
    room_id: str, interfaces: tuple[str, ...], seconds: float
) -> tuple[str, int] | None:
    """Browse for ``_hemicycle._tcp`` on ``interfaces`` (every one when empty) as a tablet
    would, until an instance whose TXT names ``room_id`` resolves: (instance name, port)."""
    from zeroconf import InterfaceChoice, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

    from room_protocol.discovery import SERVICE_TYPE, parse_txt
    from room_protocol.errors import ProtocolError

    names: list[str] = []
    seen = threading.Event()

    def on_change(
        zeroconf: Zeroconf, service_type: str, name: str, state_change: ServiceStateChange
    ) -> None:
        if state_change is not ServiceStateChange.Removed:
            names.append(name)
            seen.set()

    zeroconf = Zeroconf(interfaces=list(interfaces) if interfaces else InterfaceChoice.All)
    browser = ServiceBrowser(zeroconf, SERVICE_TYPE, handlers=[on_change])
    deadline = time.monotonic() + seconds
    try:
        checked = 0
        while time.monotonic() < deadline:
            seen.wait(max(0.0, deadline - time.monotonic()))
            seen.clear()
            while checked < len(names):
                name = names[checked]
                checked += 1
                info = ServiceInfo(SERVICE_TYPE, name)
                left = max(0.2, deadline - time.monotonic())
                if not info.request(zeroconf, int(left * 1000)) or info.port is None:
                    continue
                try:
                    announced = parse_txt(info.properties)
                except ProtocolError:
                    continue
                if announced.room_id == room_id:
                    return announced.room_name, info.port
    finally:
        browser.cancel()
        zeroconf.close()
    return None


def now_for_doctor(environ: dict[str, str] | None = None) -> dt.datetime:
    """The time the doctor checks against: the system clock, or, for the tests only,
    ``HEMICYCLE_DOCTOR_NOW`` (ISO 8601, UTC when it has no offset) — there is no other
    way to put a real process's clock behind its own audit log."""
    environ = dict(os.environ) if environ is None else environ
    text = environ.get("HEMICYCLE_DOCTOR_NOW")
    if not text:
        return dt.datetime.now(dt.UTC)
    parsed = dt.datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
