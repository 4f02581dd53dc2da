"""The CLI's remote mode: with ``CBEC_API_URL`` (and ``CBEC_API_KEY``) set, `cbec quote`, `cbec plan`,
`cbec simulate run`, `cbec track` and `cbec jobs` call that deployed service over HTTP instead of running
here, and print the same output; so do `cbec stats`, `cbec offers|bookings|settlements` and `cbec rates`
(their modules say which route each calls).

The key is sent as ``X-API-Key`` (quotes work without one, rate-limited as any anonymous client). A
problem+json answer becomes the usual one line on stderr and exit code 2, with the CLI option of its field
when the command names one ("--weight: weight_kg must be ..."); a service that cannot be reached, or answers
something that is not the API, is one line and exit 2 too. Jobs (plans, simulations) are polled with the
same progress bar as a local run; Ctrl-C stops waiting, not the job (it says how to follow or cancel it).
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx

from api.cli.common import err_console, fail, progress_bar
from optimizer.errors import CbecError

__all__ = ["Remote", "RemoteProblem", "local_only", "options_named", "remote"]

USER_AGENT = "cbec-cli/0.1"
TIMEOUT_S = 60.0  # a request (an inline plan or pickup plan may take a minute on the service)
POLL_S = 0.5
FINISHED = ("succeeded", "failed", "cancelled")


class RemoteProblem(CbecError):
    """A problem+json answer of the service, as the domain error a local run would have raised."""

    def __init__(self, status: int, title: str, detail: str, field: str | None = None, **extra: object) -> None:
        super().__init__(detail, field=field, **extra)
        self.status = status
        self.title = title


class Remote:
    """An HTTP client of one deployed service (``base_url``), sending ``api_key`` as ``X-API-Key``."""

    def __init__(self, base_url: str, api_key: str | None = None, *, timeout: float = TIMEOUT_S,
                 transport: httpx.BaseTransport | None = None) -> None:
        base_url = base_url.strip().rstrip("/")
        if not base_url.startswith(("http://", "https://")) or not base_url.isprintable():
            raise CbecError(f"CBEC_API_URL must be an http:// or https:// URL (got '{base_url[:80]}')", field="api_url")
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json, application/problem+json"}
        if api_key:
            headers["X-API-Key"] = api_key
        self.base_url = base_url
        self.keyed = bool(api_key)
        self.http = httpx.Client(base_url=base_url, headers=headers, timeout=timeout, transport=transport,
                                 follow_redirects=False)

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> "Remote":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- requests -----------------------------------------------------------------------------------
    def request(self, method: str, path: str, *, json: Any = None, params: Mapping[str, Any] | None = None,
                ok: tuple[int, ...] = (200, 201, 202), content: bytes | None = None,
                headers: Mapping[str, str] | None = None) -> httpx.Response:
        """The response (its status one of ``ok``); :class:`RemoteProblem` for a problem answer,
        :class:`CbecError` (503) when the service cannot be reached. ``content`` (with its ``headers``): a body
        that is not JSON, e.g. a file."""
        try:
            r = self.http.request(method, path, json=json, params=params, content=content, headers=headers)
        except httpx.TimeoutException:
            raise CbecError(f"{self.base_url} did not answer {method} {path} within {self.http.timeout.read:g} s",
                            field="api_url") from None
        except httpx.HTTPError as exc:
            raise CbecError(f"cannot reach {self.base_url} (CBEC_API_URL): {exc}", field="api_url") from None
        if r.status_code in ok:
            return r
        raise self._problem(r)

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        r = self.request(method, path, **kwargs)
        try:
            return r.json()
        except ValueError:
            raise CbecError(f"{self.base_url}{path} answered {r.status_code} without JSON: is CBEC_API_URL the "
                            "cbec service?", field="api_url") from None

    def _problem(self, r: httpx.Response) -> CbecError:
        try:
            body = r.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or "detail" not in body:
            return CbecError(f"{self.base_url} answered {r.status_code} {r.reason_phrase} to {r.request.method} "
                             f"{r.request.url.path}: is CBEC_API_URL the cbec service?", field="api_url")
        detail = str(body.get("detail") or body.get("title") or r.reason_phrase)
        if r.status_code == 401:
            detail += ("" if self.keyed else " (set CBEC_API_KEY to an API key of your organisation: cbec keys create)")
        elif r.status_code == 429 and r.headers.get("retry-after"):
            detail += f" (retry after {r.headers['retry-after']} s)"
        elif r.status_code >= 500 and body.get("request_id"):
            detail += f" (request id {body['request_id']})"
        field = body.get("field") if isinstance(body.get("field"), str) else None
        errors = body.get("errors")
        if field is None and isinstance(errors, list) and errors and isinstance(errors[0], dict):
            field = errors[0].get("field") if isinstance(errors[0].get("field"), str) else None  # schema errors
        return RemoteProblem(r.status_code, str(body.get("title") or "error"), detail, field)

    # --- jobs ---------------------------------------------------------------------------------------
    def wait(self, path: str, description: str, *, show_progress: bool = True,
             get: Callable[[str], dict[str, Any]] | None = None) -> dict[str, Any]:
        """Poll the job resource ``path`` until it has finished, with a progress bar; the last document. A
        failed or cancelled job raises its problem. Ctrl-C stops waiting (the job goes on: it says how to
        follow it) and exits 130."""
        get = get or (lambda p: self.json("GET", p))
        job_id = path.rstrip("/").rsplit("/", 1)[-1]
        try:
            with progress_bar(description, enabled=show_progress) as progress:
                while True:
                    doc = get(path)
                    progress(float(doc.get("progress") or 0.0), str(doc.get("message") or description))
                    if doc.get("status") in FINISHED:
                        break
                    time.sleep(POLL_S)
        except KeyboardInterrupt:
            err_console.print(f"stopped waiting; job {job_id} goes on at {self.base_url}: follow it with `cbec jobs "
                              f"show {job_id}`, cancel it with `cbec jobs cancel {job_id}`", highlight=False)
            sys.exit(130)
        if doc["status"] != "succeeded":
            error = doc.get("error") or {}
            raise RemoteProblem(int(error.get("status") or 500), str(error.get("title") or doc["status"]),
                                f"job {job_id} {doc['status']}: {error.get('detail') or doc.get('message') or ''}",
                                error.get("field"))
        return doc


    def run_job(self, path: str, body: dict[str, Any], description: str, *, show_progress: bool = True) -> dict[str, Any]:
        """POST ``body`` to the job-starting ``path`` and wait for the job (201: finished at once; 202: polled at
        its ``Location``); the finished resource document."""
        r = self.request("POST", path, json=body)
        doc = r.json()
        location = r.headers.get("location") or f"{path}/{doc['id']}"
        if doc.get("status") == "succeeded" and r.status_code == 201:
            return doc
        return self.wait(location, description, show_progress=show_progress)


def remote() -> Remote | None:
    """The service of ``CBEC_API_URL`` (None: run here). Settings are read afresh, so the environment of this
    invocation counts."""
    from optimizer.settings import Settings

    settings = Settings()
    if not settings.api_url:
        return None
    key = settings.api_key.get_secret_value() if settings.api_key is not None else None
    return Remote(settings.api_url, key)


@contextmanager
def options_named(options: Mapping[str, str]) -> Iterator[None]:
    """A problem of the service named by the CLI option its field came from, as a local run names it
    ("--by: ..."): ``options`` maps the service's field names to options; a field path ("query.dims.0",
    "terms.notice_days", "demand.3.market") counts by its longest known prefix, without the ``query.`` /
    ``path.`` of a request parameter. The field becomes that name (the detail keeps the whole path)."""
    try:
        yield
    except CbecError as exc:
        path = re.sub(r"\[(\d+)\]", r".\1", exc.field or "")  # "filter[0]" as "filter.0"
        path = path.split(".", 1)[1] if path.startswith(("query.", "path.")) else path
        while path not in options and "." in path:
            path = path.rsplit(".", 1)[0]
        if path in options:
            exc.field = path
            if not exc.detail.startswith(options[path]):
                exc.detail = f"{options[path]}: {exc.detail}"
        raise


def local_only(service: Remote | None, **options: object) -> None:
    """In remote mode, refuse the options that only mean something here (``--db``, ``--org``, ...): the
    service's database and the key's organisation are used. ``options``: the option's name -> its value."""
    if service is None:
        return
    given = [name for name, value in options.items() if value not in (None, False, [], ())]
    if given:
        service.close()
        fail(f"{', '.join(given)} {'does' if len(given) == 1 else 'do'} not apply in remote mode (CBEC_API_URL is "
             "set: the service's records of the key's organisation are used)", field=given[0].lstrip("-"))
