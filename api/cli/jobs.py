"""`cbec jobs list|show|cancel`: background jobs (plans, designs, pickup plans, simulations).

With CBEC_API_URL set they call the deployed service (GET /v1/jobs, GET and DELETE /v1/jobs/{id}) as the
organisation of CBEC_API_KEY; otherwise they read the database directly, as the other operator commands
do (``--db``; ``--org`` scopes them, and ``list`` needs it when there are several organisations). Cancel:
a queued job is cancelled at once, a running one is asked to stop (solvers and simulations stop within a
few seconds); a finished job is left as it is.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.app import app
from api.cli.common import console, print_json
from api.cli.ingest import DbOpt, _db, guarded, org_owner, org_scope

jobs_app = typer.Typer(help="Background jobs (plans, warehouse designs, pickup plans, simulations): list, show, "
                            "cancel. Remote with CBEC_API_URL, else on the database.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")

OrgOpt = Annotated[str | None, typer.Option("--org", help="organisation id or name (database mode): its jobs only "
                                                          "(list: default the only organisation)")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print JSON (the API's job documents)")]
JobArg = Annotated[str, typer.Argument(help="the job id (from a Location header, `cbec jobs list` or --json output)")]
Status = Literal["queued", "running", "succeeded", "failed", "cancelled"]
OPTIONS = {"database_url": "--db", "org": "--org", "kind": "--kind", "status": "--status",
           "limit": "--limit", "cursor": "--cursor"}


def _check_id(job_id: str) -> None:
    from optimizer.errors import InvalidInput

    if not 1 <= len(job_id) <= 64 or not job_id.isprintable() or "/" in job_id:
        raise InvalidInput("JOB_ID must be a job id (1-64 printable characters, e.g. plan-0123abcd...)", field="job_id")


def _store(db: str | None):
    from jobs.records import JobStore

    database = _db(db)
    return database, JobStore(database)


@jobs_app.command("list")
def list_cmd(
    kind: Annotated[str | None, typer.Option("--kind", help="plan | warehouse-design | pickup-plan | simulation")] = None,
    status: Annotated[Status | None, typer.Option("--status", help="queued | running | succeeded | failed | cancelled")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100, help="jobs to show, newest first")] = 20,
    org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False,
) -> None:
    """The organisation's jobs, newest first."""
    from api.cli.remote import local_only, remote

    with guarded(OPTIONS):
        service = remote()
        local_only(service, **{"--org": org, "--db": db})
        if service is not None:
            params = {k: v for k, v in {"kind": kind, "status": status, "limit": limit}.items() if v is not None}
            with service:
                items = service.json("GET", "/v1/jobs", params=params)["items"]
        else:
            if kind is not None and (len(kind) > 32 or not kind.replace("-", "").isalnum()):
                from optimizer.errors import InvalidInput

                raise InvalidInput("--kind must be a job kind such as plan or simulation", field="kind")
            database, store = _store(db)
            owner = org_owner(database, org)
            items = [rec.to_dict(result=False) for rec in store.list(owner, kind=kind, status=status, limit=limit)]
            for item in items:
                item.pop("result", None)
    if as_json:
        print_json({"items": items})
        return
    if not items:
        console.print("no jobs")
        return
    table = Table()
    for col in ("id", "kind", "status", "progress", "created", "message"):
        table.add_column(col, justify="right" if col == "progress" else "left")
    for j in items:
        table.add_row(j["id"], j["kind"], j["status"], f"{100 * float(j.get('progress') or 0):.0f} %",
                      (j.get("created_at") or "")[:19], escape(str(j.get("message") or ""))[:60])
    console.print(table)


def _print_job(doc: dict[str, Any]) -> None:
    console.print(f"job {doc['id']} ({doc['kind']}): [bold]{doc['status']}[/], "
                  f"{100 * float(doc.get('progress') or 0):.0f} %"
                  + (f" — {escape(str(doc['message']))}" if doc.get("message") else ""), highlight=False)
    console.print(f"created {doc.get('created_at')}, started {doc.get('started_at') or '-'}, "
                  f"finished {doc.get('finished_at') or '-'}; attempts {doc.get('attempts', 0)}"
                  + ("; cancel requested" if doc.get("cancel_requested") else ""), highlight=False)
    if doc.get("error"):
        e = doc["error"]
        console.print(f"[red]{escape(str(e.get('title')))}[/]: {escape(str(e.get('detail')))}", highlight=False)
    if doc.get("result") is not None:
        console.print("result: see --json", highlight=False)


def _job_doc(job_id: str, org: str | None, db: str | None, *, cancel: bool) -> dict:
    """The job's record, from the deployed service (remote mode) or the database; with ``cancel`` the
    job is asked to stop first. Unknown (or another organisation's) ids are a one-line error."""
    from accounts.errors import NotFound
    from api.cli.remote import local_only, remote

    with guarded(OPTIONS):
        _check_id(job_id)
        service = remote()
        local_only(service, **{"--org": org, "--db": db})
        if service is not None:
            with service:
                return service.json("DELETE" if cancel else "GET", f"/v1/jobs/{job_id}")
        database, store = _store(db)
        scope = {} if org is None else {"owner": org_scope(database, org)}
        rec = store.request_cancel(job_id, **scope) if cancel else store.get(job_id, **scope)
        if rec is None:
            raise NotFound(f"no job '{job_id}'", field="job_id")
        return rec.to_dict()


@jobs_app.command("show")
def show_cmd(job_id: JobArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """A job's status, progress, times and (with --json) its result or error."""
    doc = _job_doc(job_id, org, db, cancel=False)
    if as_json:
        print_json(doc)
    else:
        _print_job(doc)


@jobs_app.command("cancel")
def cancel_cmd(job_id: JobArg, org: OrgOpt = None, db: DbOpt = None, as_json: JsonOpt = False) -> None:
    """Cancel a job: a queued one at once, a running one within seconds (a finished one is left as it is)."""
    doc = _job_doc(job_id, org, db, cancel=True)
    if as_json:
        print_json(doc)
        return
    if doc["status"] == "running":
        console.print(f"job {doc['id']} asked to stop (it stops within a few seconds): `cbec jobs show {doc['id']}`",
                      highlight=False)
    elif doc["status"] == "cancelled":
        console.print(f"job {doc['id']} cancelled", highlight=False)
    else:
        console.print(f"job {doc['id']} had finished ({doc['status']}): left as it is", highlight=False)
