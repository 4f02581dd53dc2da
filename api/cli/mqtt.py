"""`cbec mqtt sync`: Mosquitto's password file and ACL from the device registry and credentials.

Each device with a credential gets a user (its device id) whose password is its device key and an ACL
section letting it publish on its own topics only; the ingest user (``cbec-ingest``, or the user name of
``CBEC_MQTT_URL``) reads them all, with ``CBEC_MQTT_INGEST_PASSWORD`` (or the URL's password). Both files
are replaced atomically and only when they changed; then Mosquitto is told to reload them (SIGHUP to the
pid in ``--reload PIDFILE`` or to ``--signal PID``): it re-reads both and disconnects the clients whose
login is no longer valid. ``--every SECONDS`` keeps doing it (a device bound through the API can log in
within that time; a removed or rotated key is cut off).
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Annotated

import typer

from api.cli.app import app
from api.cli.common import console, err_console, fail, print_json
from api.cli.ingest import DbOpt, _db, guarded

mqtt_app = typer.Typer(help="The production MQTT broker (Mosquitto): device logins and ACL from the registry.",
                       no_args_is_help=True)
app.add_typer(mqtt_app, name="mqtt")

OPTIONS = {"database_url": "--db", "passwd": "--passwd", "acl": "--acl", "ingest_password": "CBEC_MQTT_INGEST_PASSWORD",
           "ingest_user": "--mqtt-url", "mqtt_url": "--mqtt-url"}


def _reload(pidfile: Path | None, pid: int | None) -> int | None:
    """SIGHUP to Mosquitto (its pid from ``pidfile`` or ``pid``); the pid signalled, or None."""
    if pidfile is not None:
        try:
            text = pidfile.read_text().strip()
        except OSError as exc:
            fail(f"--reload: cannot read the pid file {pidfile} ({exc.strerror})", field="reload")
        if not text.isdigit():
            fail(f"--reload: {pidfile} holds no process id", field="reload")
        pid = int(text)
    if pid is None:
        return None
    if pid <= 1:
        fail(f"--signal: {pid} is not a Mosquitto process id", field="signal")
    try:
        os.kill(pid, signal.SIGHUP)
    except ProcessLookupError:
        fail(f"no process {pid} to reload (is Mosquitto running? is its pid file current?)", field="reload")
    except PermissionError:
        fail(f"not allowed to signal process {pid} (run as Mosquitto's user or root)", field="reload")
    return pid


@mqtt_app.command("sync")
def sync_cmd(
    passwd: Annotated[Path, typer.Option("--passwd", help="Mosquitto's password_file to write")],
    acl: Annotated[Path, typer.Option("--acl", help="Mosquitto's acl_file to write")],
    reload: Annotated[Path | None, typer.Option("--reload", metavar="PIDFILE",
                                                help="after a change, SIGHUP the process whose id this file holds "
                                                     "(Mosquitto's pid_file)")] = None,
    pid: Annotated[int | None, typer.Option("--signal", metavar="PID",
                                            help="after a change, SIGHUP this process (Mosquitto)")] = None,
    every: Annotated[float | None, typer.Option("--every", metavar="SECONDS", min=1.0, max=86_400.0,
                                                help="keep syncing at this interval (until Ctrl-C / SIGTERM)")] = None,
    mqtt_url: Annotated[str | None, typer.Option("--mqtt-url", help="the ingest's broker URL, for its user name and "
                                                                   "password (default CBEC_MQTT_URL)")] = None,
    db: DbOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON (one object per sync)")] = False,
) -> None:
    """Write Mosquitto's password file and ACL from the device registry (atomically, only when changed), then
    reload Mosquitto (--reload PIDFILE or --signal PID)."""
    from accounts.devices import sync_broker_files
    from iot_ingest.broker import INGEST_USER
    from iot_ingest.consumer import ingest_login
    from optimizer.settings import get_settings

    if reload is not None and pid is not None:
        fail("give one of --reload PIDFILE or --signal PID", field="reload")
    user, password = ingest_login(mqtt_url if mqtt_url is not None else get_settings().mqtt_url)
    if not password:
        fail("the ingest user needs a password: set CBEC_MQTT_INGEST_PASSWORD (or give it in CBEC_MQTT_URL / "
             "--mqtt-url)", field="ingest_password")
    with guarded(OPTIONS):
        database = _db(db)

    stopping = [False]
    if every is not None:
        signal.signal(signal.SIGTERM, lambda *_: stopping.__setitem__(0, True))
    first, unreloaded = True, False  # unreloaded: files changed, Mosquitto not told yet (retried next round)
    while True:
        try:
            with guarded(OPTIONS):
                files, changed = sync_broker_files(database, passwd, acl, ingest_password=password,
                                                   ingest_user=user or INGEST_USER)
            unreloaded = unreloaded or changed
            reloaded = _reload(reload, pid) if unreloaded else None
            if reloaded is not None:
                unreloaded = False
            _report(files, changed, reloaded, passwd, acl, as_json, quiet=every is not None and not changed and not first)
        except typer.Exit:
            if every is None or first:
                raise
            # --every: a database outage or a failed reload was said in one line; keep the files, try again
        first = False
        if every is None:
            return
        deadline = time.monotonic() + every
        try:
            while not stopping[0] and time.monotonic() < deadline:
                time.sleep(min(0.5, every))
        except KeyboardInterrupt:
            return
        if stopping[0]:
            return


def _report(files, changed: bool, reloaded: int | None, passwd: Path, acl: Path, as_json: bool, *, quiet: bool) -> None:
    if as_json:
        print_json({"passwd": str(passwd), "acl": str(acl), "changed": changed, "reloaded_pid": reloaded,
                    "ingest_user": files.ingest_user, "devices": len(files.devices),
                    "without_broker_hash": files.without_hash, "reserved": files.reserved})
        return
    if quiet:
        return
    what = "written" if changed else "unchanged"
    after = f"; Mosquitto (pid {reloaded}) reloaded" if reloaded is not None else \
        ("; reload Mosquitto (SIGHUP) to apply" if changed else "")
    console.print(f"mqtt sync: {len(files.devices)} device(s) and the ingest user {files.ingest_user}: {passwd} and "
                  f"{acl} {what}{after}", soft_wrap=True, highlight=False)
    if files.without_hash:
        err_console.print(f"warning: {len(files.without_hash)} device key(s) issued before Mosquitto hashes were kept "
                          f"cannot log in to Mosquitto until rotated (cbec devices credentials DEVICE): "
                          f"{', '.join(files.without_hash[:20])}{' ...' if len(files.without_hash) > 20 else ''}",
                          soft_wrap=True, highlight=False)
    if files.reserved:
        err_console.print(f"warning: left out, their ids clash with the ingest's user name: {', '.join(files.reserved)}",
                          soft_wrap=True, highlight=False)
