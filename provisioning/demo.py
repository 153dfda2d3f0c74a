"""``make demo``: a whole room on this machine, on loopback only.

Writes the sample meeting package, imports it with ``room-server import``, starts
``room-server run`` advertising on 127.0.0.1, makes a one-time pairing code with
``room-server enroll``, then starts a seat tablet that finds the room over mDNS, enrolls
with the code, connects with its device certificate, downloads the documents it may read
before anyone signs in (not the confidential one) and opens one.
Without a display the tablet runs offscreen and saves screenshots into the output folder.
Only the command-line programs are used, as IT staff would use them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from provisioning.sample_package import write_sample_package

ROOM_ID = "demo-council"
ROOM_NAME = "Riverside council chamber (demo)"
START_TIMEOUT_S = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hemicycle-demo", description=__doc__)
    parser.add_argument("--output", type=Path, default=Path("demo-output"))
    parser.add_argument(
        "--keep-running",
        action="store_true",
        help="with a display: leave server and tablet running until Ctrl-C",
    )
    args = parser.parse_args(argv)
    out: Path = args.output.resolve()
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    env = dict(os.environ)
    if headless:
        env["QT_QPA_PLATFORM"] = "offscreen"

    print("1. writing the sample meeting package", flush=True)
    package = write_sample_package(out / "package")
    config = out / "room-server.toml"
    config.write_text(
        f"""# Demo room: loopback only, any free port.
[room]
id = "{ROOM_ID}"
name = "{ROOM_NAME}"
[server]
host = "127.0.0.1"
port = 0
[mdns]
interfaces = ["127.0.0.1"]
hostname = "hemicycle-demo"
[storage]
state_dir = "state"
""",
        encoding="utf-8",
    )
    server_cmd = [sys.executable, "-m", "room_server", "--config", str(config)]
    print(f"2. importing {package.name}", flush=True)
    subprocess.run([*server_cmd, "import", str(package)], check=True, env=env)

    print("3. starting the room server (mDNS on 127.0.0.1)", flush=True)
    server_log = (out / "room-server.log").open("wb")
    server = subprocess.Popen(
        [*server_cmd, "run"], stdout=server_log, stderr=subprocess.STDOUT, env=env
    )
    try:
        info = _wait_for_server(out / "state" / "server.json", server)
        print(
            f"   room server on port {info['port']}, certificate {info['fingerprint'][:16]}…",
            flush=True,
        )
        # IT staff's step: a one-time pairing code for the tablet at seat A1.
        enrolled = subprocess.run(
            [*server_cmd, "enroll", "--seat", "A1", "--json"],
            check=True,
            env=env,
            capture_output=True,
            text=True,
        )
        code = json.loads(enrolled.stdout)["code"]
        print(f"   pairing code for the tablet at seat A1: {code}", flush=True)
        tablet_cmd = [
            sys.executable,
            "-m",
            "tablet_client",
            "--device-dir",
            str(out / "tablet-device"),
            "--enroll",
            code,
            "--cache-dir",
            str(out / "tablet-cache"),
            "--room",
            ROOM_ID,
            "--interface",
            "127.0.0.1",
            "--name",
            "Seat A1",
        ]
        if headless or not args.keep_running:
            print("4. starting a seat tablet offscreen: discover, join, download, read", flush=True)
            shots = out / "screenshots"
            result = subprocess.run(
                [*tablet_cmd, "--screenshots", str(shots)],
                env=env,
                check=False,
                timeout=180,
            )
            if result.returncode != 0:
                print(f"the tablet tour failed (exit {result.returncode}); see above", flush=True)
                return result.returncode
            print(f"\nscreenshots of the tablet are in {shots}:", flush=True)
            for png in sorted(shots.glob("*.png")):
                print(f"  {png}")
            return 0
        print("4. starting a seat tablet window; close it or press Ctrl-C to end", flush=True)
        return subprocess.run(tablet_cmd, env=env, check=False).returncode
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
        print(f"room server stopped (log: {out / 'room-server.log'})", flush=True)


def _wait_for_server(runtime: Path, server: subprocess.Popen[bytes]) -> dict[str, Any]:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the room server exited with {server.returncode}")
        try:
            return dict(json.loads(runtime.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            time.sleep(0.1)
    raise SystemExit("the room server did not start in time")


if __name__ == "__main__":
    sys.exit(main())
