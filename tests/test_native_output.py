"""Native writes to file descriptor 1 go to stderr inside native_stdout_to_stderr (cbec plan --json)."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import os, sys
from optimizer.planning.native_output import native_stdout_to_stderr
print("before", flush=True)
with native_stdout_to_stderr():
    os.write(1, b"native chatter\\n")
    print("python chatter")
print('{"json": true}')
"""


def test_native_writes_leave_stdout_clean() -> None:
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, cwd=".")
    assert out.stdout.splitlines() == ["before", '{"json": true}']
    assert "native chatter" in out.stderr and "python chatter" in out.stderr


def test_captured_stdout_is_left_alone(capsys) -> None:
    from optimizer.planning.native_output import native_stdout_to_stderr

    with native_stdout_to_stderr():
        print("inside")
    assert "inside" in capsys.readouterr().out
