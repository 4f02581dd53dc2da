"""Errors of saved quotes and rate sheets: 404 (unknown here), 410 (expired), 422 (outside the data's validity)."""

from __future__ import annotations

from optimizer.errors import CbecError


class QuoteNotFound(CbecError):
    """An unknown quote id, or another organisation's (answered exactly alike)."""

    status = 404
    title = "Quote not found"

    def __init__(self, quote_id: str) -> None:
        super().__init__(f"no quote '{quote_id[:64]}'", field="quote_id")


class QuoteExpired(CbecError):
    """A saved quote past its valid_until: its prices no longer hold."""

    status = 410
    title = "Quote expired"

    def __init__(self, quote_id: str, valid_until: str) -> None:
        super().__init__(f"quote {quote_id} expired at {valid_until}: its prices no longer hold; ask for a new quote",
                         field="quote_id", valid_until=valid_until)


class OutsideValidity(CbecError):
    """The ready date needs tariffs or timetables outside their validity (and no extrapolation was asked)."""

    status = 422
    title = "Outside the data's validity"

    def __init__(self, figures: list[str]) -> None:
        shown = "; ".join(figures[:3]) + (f"; and {len(figures) - 3} more (figures[])" if len(figures) > 3 else "")
        super().__init__(f"{len(figures)} figure(s) are outside their validity on the days this quote would use them "
                         f"(allow_extrapolation: true / --extrapolate quotes anyway, with warnings): {shown}",
                         field="ready", figures=figures)


class RateSheetNotFound(CbecError):
    status = 404
    title = "Rate sheet not found"

    def __init__(self, name: str, version: int | None = None) -> None:
        which = f"'{name[:64]}'" + (f" version {version}" if version is not None else "")
        super().__init__(f"no rate sheet {which}", field="name")
