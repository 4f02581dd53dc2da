"""Helpers every CLI command uses: one readable error line and a non-zero exit, JSON output, progress."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import typer
from rich.console import Console

from optimizer.errors import CbecError

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print one line ``error: ...`` on stderr and exit non-zero."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def errors_as_exit() -> Iterator[None]:
    """Turn domain errors (and bad files) into one readable line and exit code 2."""
    try:
        yield
    except CbecError as exc:
        fail(exc.detail)
    except FileNotFoundError as exc:
        fail(f"file not found: {exc.filename}")


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
