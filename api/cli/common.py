"""Helpers every CLI command uses: one readable error line and a non-zero exit, JSON output, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from optimizer.errors import CbecError

console = Console()
err_console = Console(stderr=True)


try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import ClickException
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on the real click
    from click import ClickException, get_current_context

__all__ = ["ClickException", "console", "err_console", "errors_as_exit", "fail", "json_requested", "print_json",
           "progress_bar"]

MAX_ECHO = 300  # characters of an error message: never repeat a huge argument back


def json_requested() -> bool:
    """True when the running command was given ``--json`` (its parameter ``as_json``)."""
    ctx = get_current_context(silent=True)
    while ctx is not None:
        if ctx.params.get("as_json"):
            return True
        ctx = ctx.parent
    return False


def fail(message: str, code: int = 2, *, field: str | None = None, title: str = "error") -> NoReturn:
    """One line ``error: ...`` on stderr (under ``--json``: ``{"error": {...}}`` on stdout), exit ``code``."""
    message = message if len(message) <= MAX_ECHO else message[:MAX_ECHO] + f"… ({len(message)} characters)"
    message = " ".join(message.split())  # one line, whatever the input held
    if json_requested():
        print_json({"error": {"title": title, "detail": message, "field": field, "exit_code": code}})
    else:
        err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Turn domain errors (and bad files) into one readable line and exit code 2."""
    try:
        yield
    except CbecError as exc:
        fail(exc.detail, field=exc.field, title=exc.title)
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename}")
    except IsADirectoryError as exc:
        fail(f"{exc.filename} is a directory, not a file")
    except PermissionError as exc:
        fail(f"permission denied: {exc.filename}")
    except UnicodeDecodeError as exc:
        fail(f"not a text file (UTF-8): byte {exc.start} cannot be decoded")


def print_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2, default=str) + "\n")


@contextmanager
def progress_bar(description: str, enabled: bool = True) -> Iterator[Callable[[float, str], None]]:
    """A rich progress bar fed by the same ``progress(fraction, message)`` callback the jobs use."""
    if not enabled:
        yield lambda fraction, message="": None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
                  TimeElapsedColumn(), console=err_console, transient=True) as prog:
        task = prog.add_task(description, total=1.0)

        def update(fraction: float, message: str = "") -> None:
            prog.update(task, completed=fraction, description=message or description)

        yield update
