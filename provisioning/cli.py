"""``hemicycle-provision``: the IT staff's command line for setting up a room."""

from __future__ import annotations

import argparse
from pathlib import Path

from provisioning.sample_package import write_sample_package


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hemicycle-provision", description="Set up a Hemicycle meeting room."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sample = commands.add_parser(
        "sample-package",
        help="write a demo meeting package (manifest and four PDFs)",
        description="Write a demo meeting package into DEST and print its path.",
    )
    sample.add_argument("dest", metavar="DEST", type=Path, help="folder to write into")
    sample.add_argument("--zip", action="store_true", help="write one .zip instead of a folder")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "sample-package":
        path = write_sample_package(args.dest, as_zip=args.zip)
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
