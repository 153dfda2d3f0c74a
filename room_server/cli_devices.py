"""``room-server enroll`` and ``room-server devices``: IT staff's enrollment commands."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from room_server.config import ServerConfig
from room_server.i18n import tr

EXIT_BAD_INPUT = 2
MAX_COUNT = 999  # codes at once: an enrollment stick's three-digit token names


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    enroll = sub.add_parser(
        "enroll", help="make a one-time pairing code that enrolls a tablet or a room display"
    )
    enroll.add_argument("--seat", default=None, help="the seat the new tablet stands at")
    enroll.add_argument(
        "--display", action="store_true", help="the code enrolls a room display (an observer)"
    )
    enroll.add_argument(
        "--minutes", type=int, default=10, help="how long the code works (default 10)"
    )
    enroll.add_argument("--no-qr", action="store_true", help="do not draw the QR code")
    enroll.add_argument(
        "--count",
        type=int,
        default=1,
        help="make this many codes, one tablet each (with --json: one JSON object a line; "
        "what room-provision stick enroll writes onto a stick)",
    )
    enroll.add_argument("--json", action="store_true", help="machine-readable output")

    dev = sub.add_parser("devices", help="list, rename, move and revoke enrolled devices")
    dev_sub = dev.add_subparsers(dest="devices_command", required=True)
    listing = dev_sub.add_parser("list", help="every enrolled device")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    rename = dev_sub.add_parser("rename", help="give a device a new name")
    rename.add_argument("device_id", help="the device's id (see devices list)")
    rename.add_argument("name", help="its new name, as IT staff and the chair see it")
    seat = dev_sub.add_parser("seat", help="set the seat a device stands at ('-' for none)")
    seat.add_argument("device_id", help="the device's id (see devices list)")
    seat.add_argument("seat", help="a seat id of the meeting, or '-' for none")
    revoke = dev_sub.add_parser(
        "revoke", help="refuse a device from now on (a lost or replaced tablet)"
    )
    revoke.add_argument("device_id", help="the device's id (see devices list)")
    dev_sub.add_parser(
        "void-codes",
        help="every open pairing code stops working (a lost enrollment stick, a code seen "
        "by the wrong people)",
    )
    add = dev_sub.add_parser(
        "add",
        help="enroll a device from here and write its credentials into a folder "
        "(for a display without a keyboard; the folder is a secret)",
    )
    add.add_argument("--out", type=Path, required=True, help="folder for the credentials")
    add.add_argument("--id", dest="device_id", default=None, help="device id (default: new)")
    add.add_argument("--seat", default=None, help="the seat the device stands at")
    add.add_argument("--display", action="store_true", help="a room display")
    add.add_argument("--name", default="", help="the device's name, as IT staff see it")


def run(config: ServerConfig, args: argparse.Namespace) -> int:
    from room_server import devices
    from room_server.devices import Authority, DeviceKind, EnrollmentError
    from room_server.store import Store, StoreError
    from room_server.tls import RoomCertificates

    certs = RoomCertificates.in_dir(config.tls_dir)
    needs_ca = args.command == "enroll" or args.devices_command == "add"
    if needs_ca and not certs.exist():
        print(tr("devices.no_ca", tls_dir=config.tls_dir), file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        with Store(config.database_path, config.documents_dir) as store:
            if args.command == "enroll":
                authority = Authority(certs)
                kind = DeviceKind.DISPLAY if args.display else DeviceKind.TABLET
                if not 1 <= args.count <= MAX_COUNT:
                    print(tr("devices.bad_count", most=MAX_COUNT), file=sys.stderr)
                    return EXIT_BAD_INPUT
                if args.count > 1 and args.seat:
                    print(tr("devices.count_and_seat"), file=sys.stderr)
                    return EXIT_BAD_INPUT
                now = time.time()
                with store.transaction():  # all the codes, or none
                    made = [
                        devices.create_pairing_code(
                            store,
                            authority,
                            kind=kind,
                            seat_id=args.seat,
                            minutes=args.minutes,
                            created_by="room-server enroll",
                            now_ts=now,
                        )
                        for _ in range(args.count)
                    ]
                if args.json:
                    for code, expires in made:
                        link = code.link(authority.ca_sha256, config.room_id)
                        print(json.dumps({"code": str(code), "link": link, "expires_ts": expires}))
                    return 0
                if args.count > 1:
                    for code, _expires in made:
                        print(code)
                    until = time.strftime("%Y-%m-%d %H:%M", time.localtime(made[0][1]))
                    print(tr("devices.codes", count=args.count, kind=kind.value, until=until))
                    return 0
                code, expires = made[0]
                link = code.link(authority.ca_sha256, config.room_id)
                until = time.strftime("%H:%M", time.localtime(expires))
                print(tr("devices.code", code=str(code), kind=kind.value, until=until))
                if args.seat:
                    print(tr("devices.code_seat", seat=args.seat))
                if not args.no_qr:
                    import segno

                    segno.make(link, error="m").terminal(compact=True)
                print(tr("devices.code_hint"))
                return 0
            command = args.devices_command
            if command == "list":
                found = devices.devices(store)
                if args.json:
                    print(json.dumps([_as_dict(d) for d in found], indent=2))
                    return 0
                if not found:
                    print(tr("devices.none"))
                for d in found:
                    state = tr("devices.revoked") if d.revoked else ""
                    print(
                        tr(
                            "devices.line",
                            id=d.device_id,
                            kind=d.kind.value,
                            seat=d.seat_id or "-",
                            name=d.name,
                            state=state,
                        )
                    )
                return 0
            if command == "void-codes":
                with store.transaction():
                    voided = devices.void_pairing_codes(store)
                print(tr("devices.voided", count=voided))
                return 0
            if command == "add":
                authority = Authority(certs)
                device = devices.provision_files(
                    store,
                    authority,
                    args.out,
                    kind=DeviceKind.DISPLAY if args.display else DeviceKind.TABLET,
                    seat_id=args.seat,
                    name=args.name,
                    device_id=args.device_id,
                )
                print(tr("devices.added", id=device.device_id, out=args.out))
                return 0
            with store.transaction():
                if command == "rename":
                    devices.rename(store, args.device_id, args.name)
                elif command == "seat":
                    devices.set_seat(store, args.device_id, None if args.seat == "-" else args.seat)
                else:
                    devices.revoke(store, args.device_id)
            done = {"rename": "devices.renamed", "seat": "devices.moved"}
            print(tr(done.get(command, "devices.revoke_done"), id=args.device_id))
            return 0
    except EnrollmentError as refused:
        print(f"room-server: {refused}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except StoreError as exc:
        print(f"room-server: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT


def _as_dict(device: object) -> dict[str, object]:
    from dataclasses import asdict, is_dataclass

    assert is_dataclass(device) and not isinstance(device, type)
    return asdict(device)
