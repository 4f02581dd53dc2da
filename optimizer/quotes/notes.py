"""Notes and warnings the quote engine writes, translatable: each is its English text (a ``str``, so every
existing reader keeps working) carrying a stable ``code`` and the ``params`` filled into it. The API adds them
beside the text (``notes_detail``, ``warnings_detail``) and the web application renders its own language from
a template per code, falling back to the English text for a code it does not know.
"""

from __future__ import annotations

from typing import Any


class Note(str):
    """English text with a stable ``code`` (e.g. ``duty.no_rate``) and the ``params`` of its template."""

    code: str
    params: dict[str, Any]

    def __new__(cls, code: str, text: str, **params: Any) -> Note:
        note = super().__new__(cls, text)
        note.code = code
        note.params = params
        return note

    def __reduce__(self):  # pickled across worker processes with its code and params
        return (_rebuild, (self.code, str(self), self.params))


def _rebuild(code: str, text: str, params: dict[str, Any]) -> Note:
    return Note(code, text, **params)


def note_detail(text: str) -> dict[str, Any]:
    """``{"code", "params", "text"}`` of a note or warning; a plain string (from an older saved quote) has no code."""
    if isinstance(text, Note):
        return {"code": text.code, "params": dict(text.params), "text": str(text)}
    return {"code": None, "params": {}, "text": str(text)}


__all__ = ["Note", "note_detail"]
