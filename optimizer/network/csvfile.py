"""Bounded reading of a user's CSV file: one place for the checks every reader needs."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Iterable
from pathlib import Path

from optimizer.errors import DataError


def read_csv_records(path: Path, need: Iterable[str], limit: int, what: str, *,
                     max_bytes: int | None = None) -> list[dict[str, str]]:
    """The records of a CSV with a header holding ``need``; at most ``limit`` of them, and the rest of a
    longer file is never read. DataError (naming the file) on a missing column, a file that is too
    large, not UTF-8 text, not CSV or unreadable; FileNotFoundError passes through."""
    try:
        if max_bytes is not None and path.stat().st_size > max_bytes:
            raise DataError(path.name, None, None, f"larger than {max_bytes:,} bytes")
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in need if c not in (reader.fieldnames or [])]
            if missing:
                raise DataError(path.name, "header", ", ".join(missing), "column missing")
            records = list(itertools.islice(reader, limit + 1))
    except FileNotFoundError:
        raise
    except UnicodeDecodeError:
        raise DataError(path.name, None, None, "not a text file (UTF-8 CSV)") from None
    except csv.Error as exc:
        raise DataError(path.name, None, None, f"not a readable CSV ({exc})") from None
    except OSError as exc:
        raise DataError(path.name, None, None, f"cannot read ({exc.strerror or type(exc).__name__})") from None
    if len(records) > limit:
        raise DataError(path.name, None, None, f"more than {limit:,} {what}")
    return records
