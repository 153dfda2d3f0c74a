"""Running ``room-provision`` as IT staff do: a child process of this interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.rooms import die_with_the_tests, timeout


def provision(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m provisioning.cli ARGS`` (UTF-8 output), its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "provisioning.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout(120),
        check=False,
        preexec_fn=die_with_the_tests(),
        env={**os.environ, "LANG": "C.UTF-8", **(env or {})},
    )
