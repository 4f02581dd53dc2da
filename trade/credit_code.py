"""The unified social credit code (统一社会信用代码, GB 32100-2015) of an enterprise: 18 characters.

Layout: registration authority (1), organisation category (1), administrative division code of the
registering office (6 digits, GB/T 2260), organisation code (9, GB 11714) and a check character (1).
Characters come from a 31-character alphabet: the digits and the capital letters without I, O, Z, S
and V. The check character is ``31 - (Σ value(cᵢ)·wᵢ mod 31)`` over the first 17 characters, with the
weights ``wᵢ = 3^(i-1) mod 31`` (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28), and 31
written as ``0``.
"""

from __future__ import annotations

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
"""The 31 characters of GB 32100-2015, in value order (I, O, Z, S and V are never used)."""
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
"""Weights of positions 1..17."""
LENGTH = 18
_VALUE = {c: i for i, c in enumerate(ALPHABET)}


class CreditCodeError(ValueError):
    """A malformed code: the message says what is wrong (length, a character and its position, the check)."""


def check_character(first17: str) -> str:
    """The check character (position 18) of the first 17 characters of a code."""
    if len(first17) != LENGTH - 1:
        raise CreditCodeError(f"expected 17 characters before the check character, got {len(first17)}")
    total = 0
    for position, (char, weight) in enumerate(zip(first17, WEIGHTS, strict=True), start=1):
        value = _VALUE.get(char)
        if value is None:
            raise CreditCodeError(f"character {position} '{char}' is not allowed (digits and capital letters "
                                  "without I, O, Z, S, V)")
        total += value * weight
    return ALPHABET[(31 - total % 31) % 31]


def validate(code: str) -> str:
    """``code`` upper-cased and stripped if it is a well-formed credit code with the right check character;
    else :class:`CreditCodeError` saying what is wrong."""
    code = code.strip().upper()
    if len(code) != LENGTH:
        raise CreditCodeError(f"a unified social credit code has 18 characters, got {len(code)}")
    if not code[2:8].isdigit() or not code[2:8].isascii():
        raise CreditCodeError("characters 3-8 (the administrative division code) must be digits")
    expected = check_character(code[:17])
    if code[17] != expected:
        raise CreditCodeError(f"check character is '{code[17]}', expected '{expected}' (GB 32100-2015)")
    return code


def is_valid(code: str) -> bool:
    """True when ``code`` is a well-formed credit code with the right check character."""
    try:
        validate(code)
    except CreditCodeError:
        return False
    return True


def complete(first17: str) -> str:
    """A whole code: ``first17`` followed by its check character (for generated sample enterprises)."""
    return first17 + check_character(first17)
