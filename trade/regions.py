"""World regions of destination countries, as the statistics group them (UN M49 sub-regions, merged
where the pilot zone's trade is thin). A country not listed is in ``Other``."""

from __future__ import annotations

OTHER = "Other"

_REGIONS: dict[str, tuple[str, ...]] = {
    "Western Europe": ("DE", "FR", "NL", "BE", "LU", "AT", "CH", "LI", "MC"),
    "Northern Europe": ("GB", "IE", "SE", "NO", "DK", "FI", "IS", "EE", "LV", "LT"),
    "Southern Europe": ("IT", "ES", "PT", "GR", "MT", "CY", "SI", "HR", "RS", "BA", "ME", "MK", "AL"),
    "Eastern Europe": ("PL", "CZ", "SK", "HU", "RO", "BG", "UA", "BY", "MD", "RU"),
    "Central Asia": ("KZ", "UZ", "KG", "TJ", "TM"),
    "Western Asia": ("TR", "SA", "AE", "QA", "KW", "OM", "BH", "IL", "JO", "IQ", "IR", "GE", "AM", "AZ"),
    "South Asia": ("IN", "PK", "BD", "LK", "NP"),
    "South-East Asia": ("SG", "MY", "TH", "VN", "ID", "PH", "KH", "LA", "MM", "BN"),
    "East Asia": ("JP", "KR", "MN", "HK", "MO", "TW", "CN"),
    "North America": ("US", "CA", "MX"),
    "Latin America": ("BR", "AR", "CL", "CO", "PE", "EC", "UY", "PY", "BO", "VE", "PA", "CR"),
    "Africa": ("ZA", "EG", "NG", "KE", "MA", "DZ", "TN", "ET", "GH", "TZ"),
    "Oceania": ("AU", "NZ"),
}
REGION_OF: dict[str, str] = {c: region for region, countries in _REGIONS.items() for c in countries}
"""ISO 3166-1 alpha-2 country -> region."""


def region_of(country: str) -> str:
    """The region of a destination country (``Other`` when not listed)."""
    return REGION_OF.get(country.upper(), OTHER)
