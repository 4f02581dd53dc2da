"""A real `cbec serve` for the browser tests and the web benchmark: a subprocess on a free port with
CBEC_VAR_DIR in a temporary folder and the embedded MQTT broker; the demo admin key it prints once."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = os.environ.get("CBEC_CHROMIUM", "/usr/bin/chromium")
KEY_PATTERN = r"\bcbk_[a-z2-9]{10}_[A-Za-z0-9_-]{43}\b"


def browser_available() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        return f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed"
    return None


def chromium_path() -> str:
    return CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Served:
    """A running `cbec serve`: its process, base URL, embedded broker URL, var dir and demo admin key."""

    proc: subprocess.Popen
    base: str
    broker: str
    var_dir: Path
    key: str
    log: list[str]

    def api(self, method: str, path: str, body: dict | None = None, key: str | None = None) -> dict:
        """One JSON call with the demo key (the tests' own set-up and checks)."""
        req = urllib.request.Request(self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                     headers={"content-type": "application/json", "X-API-Key": key or self.key})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read() or b"null")

    def create_org(self, name: str, kind: str) -> str:
        """A new organisation in the served database (`cbec orgs create`, as an operator does): its admin key."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
        env.update(CBEC_VAR_DIR=str(self.var_dir))
        out = subprocess.run([sys.executable, "-m", "api.cli", "orgs", "create", name, "--kind", kind, "--json"], env=env,
                             cwd=self.var_dir, capture_output=True, text=True, timeout=120, check=True).stdout
        keys = re.findall(KEY_PATTERN, out)
        assert len(keys) == 1, out
        return keys[0]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_serve(var_dir: Path, timeout_s: float = 120.0) -> Served:
    """Start `cbec serve` on a free port (embedded broker) and wait until /readyz answers 200."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_")}
    env.update(CBEC_VAR_DIR=str(var_dir))
    proc = subprocess.Popen([sys.executable, "-m", "api.cli", "serve", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=var_dir)
    lines: list[str] = []
    broker = None
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and broker is None:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        m = re.search(r"embedded amqtt broker mqtt://([\d.]+):(\d+)", line)
        if m:
            broker = f"mqtt://{m.group(1)}:{m.group(2)}"
    keys = re.findall(KEY_PATTERN, "".join(lines))
    if not broker or len(keys) != 1:
        proc.kill()
        raise RuntimeError("cbec serve did not start:\n" + "".join(lines)[-3000:])
    # keep reading its output so that the pipe never fills
    import threading

    threading.Thread(target=lambda: [lines.append(x) for x in proc.stdout], daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise RuntimeError("cbec serve never became ready:\n" + "".join(lines)[-3000:])
    return Served(proc, base, broker, var_dir, keys[0], lines)
