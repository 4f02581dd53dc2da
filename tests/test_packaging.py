"""The package installs anywhere: a wheel built from the checkout carries its data, scenarios, migrations
and web page, and works from a fresh virtual environment in another directory (issue 14)."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import tomllib
import urllib.request
from pathlib import Path

import pytest
from setuptools import find_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_package_is_listed_in_pyproject():
    """pyproject lists the packages by hand (because data/ is mapped to cbec_data): the list must be whole."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = set(find_packages(str(ROOT), include=["optimizer*", "simulation*", "iot_ingest*", "api*"]))
    assert found - listed == set(), f"packages missing from pyproject.toml [tool.setuptools] packages: {sorted(found - listed)}"
    assert config["package-dir"]["cbec_data"] == "data"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory) -> Path:
    """A fresh venv outside the checkout with the wheel installed (its dependencies borrowed from ours)."""
    tmp = tmp_path_factory.mktemp("wheel")
    dist, src = tmp / "dist", tmp / "src"
    # setuptools builds in the source tree (build/, *.egg-info): build from a copy, not the checkout
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", ".venv", "build", "dist", "var", "*.egg-info",
                                                             "__pycache__", ".pytest_cache", ".hypothesis"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(dist), str(src)],
                   check=True, cwd=tmp, timeout=600)
    wheel = next(dist.glob("cbec_logistics-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    site = next((venv / "lib").glob("python3*/site-packages"))
    # Dependencies come from the project's venv (a path entry, so its editable-install hook is NOT run):
    # what is tested is that the wheel itself carries every package and data file.
    ours = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "deps.pth").write_text("\n".join(ours) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, cwd=tmp, timeout=300)
    scripts = venv / "bin"
    (scripts / "cbec").write_text(f"#!{venv / 'bin' / 'python'}\nfrom api.cli import main\nmain()\n")
    (scripts / "cbec").chmod(0o755)
    return venv


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CBEC_") and k != "PYTHONPATH"}
    env.update(CBEC_VAR_DIR=str(tmp / "var"), CBEC_DATABASE_URL=f"sqlite:///{tmp / 'var' / 'cbec.sqlite3'}")
    return env


def test_wheel_quotes_from_another_directory(wheel_venv: Path, tmp_path: Path):
    py = wheel_venv / "bin" / "python"
    where = subprocess.run([py, "-c", "import optimizer, cbec_data, simulation; print(optimizer.__file__, cbec_data.__file__)"],
                           cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert str(ROOT) not in where.stdout, f"imported from the checkout, not the wheel: {where.stdout}"
    out = subprocess.run([wheel_venv / "bin" / "cbec", "quote", "--from", "MY_CITY", "--to", "LODZ", "--weight", "1200",
                          "--volume", "6", "--ready", "2026-12-01", "--json"],
                         cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    options = json.loads(out.stdout)["options"]
    assert {"cheapest", "fastest", "greenest"} <= {t for o in options for t in o["tags"]}
    scenarios = subprocess.run([py, "-c", "from simulation.scenario import bundled_scenarios; print(bundled_scenarios())"],
                               cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=60)
    assert "baseline" in scenarios.stdout, scenarios.stderr


def test_wheel_serves_healthz_and_page(wheel_venv: Path, tmp_path: Path):
    port = _free_port()
    proc = subprocess.Popen([wheel_venv / "bin" / "cbec", "serve", "--port", str(port)], cwd=tmp_path, env=_env(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, health = time.monotonic() + 90, None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    health = json.loads(r.read())
                    break
            except OSError:
                time.sleep(0.3)
        assert health is not None, f"no /healthz within 90 s; exit {proc.poll()}"
        # the installed wheel serves the bundled network: as many nodes as the checkout's data/nodes.csv
        # (was pinned at 70; the China-Laos, Yangtze, land-port and east-coast corridors added 10, issue 20)
        from optimizer.network import load_network

        assert health["status"] == "ok" and health["nodes"] == len(load_network().nodes)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert b"<html" in r.read().lower()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert (tmp_path / "var" / "cbec.sqlite3").exists()  # migrations shipped in the wheel ran
