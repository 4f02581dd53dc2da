"""Door to door: import clearance, final delivery, CFS destuffing, VAT/IOSS and duty estimates.

Figures are data (``data/destination.yaml``, from the network's data directory or the bundled one).

* A freight arrival (any service that is not a door-delivery parcel product) at a destination outside
  China pays an import declaration (per shipment; 9610 parcels also per parcel) and, unless it ends in
  an overseas warehouse, final delivery: per parcel for 9610, per shipment + per kg for B2B.
  Parcel products already include their clearance and last mile.
* Cargo arriving in its own containers that must continue loose (mid-route, or 9610 parcels to be
  sorted at the destination hub) pays CFS destuffing.
* Taxes (not in the Pareto criteria: the same for every option) are estimates: EU VAT for 9610 at the
  destination country's standard rate, collected through IOSS when a parcel's value is at most
  EUR 150 (else at import, with duty); duty from the user's duty table by HS code.

Duty table (CSV, header required): ``hs_code,country,rate_pct[,note]`` — ``hs_code`` 2-10 digits
(the longest matching prefix wins), ``country`` an ISO code, ``EU`` or ``*``, ``rate_pct`` in [0, 1000].
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from optimizer.errors import DataError, InvalidInput
from optimizer.network import Network
from optimizer.network.model import DutyRate, Node, NodeKind, QuoteRequest
from optimizer.quotes.notes import Note
from optimizer.settings import BUNDLED_DATA_DIR

DESTINATION_FILE = "destination.yaml"
MAX_DUTY_ROWS = 20_000


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _Eu(_Row):
    countries: list[str]
    ioss_threshold_eur: float = Field(gt=0)
    low_value_duty_eur_per_item: float = Field(default=0, ge=0)
    low_value_duty_from: date | None = None
    source: str


class _Vat(_Row):
    rates: dict[str, float]
    source: str


class _Clearance(_Row):
    per_shipment: float = Field(ge=0)
    per_parcel: float = Field(ge=0)
    hours: float = Field(ge=0)
    source: str


class _Parcel(_Row):
    per_parcel: float = Field(ge=0)
    per_kg: float = Field(ge=0)
    days: float = Field(ge=0)
    by_country: dict[str, float] = {}
    source: str


class _Freight(_Row):
    per_shipment: float = Field(ge=0)
    per_kg: float = Field(ge=0)
    days: float = Field(ge=0)
    source: str


class _Delivery(_Row):
    parcel: _Parcel
    freight: _Freight


class _Cfs(_Row):
    per_shipment: float = Field(ge=0)
    per_m3: float = Field(ge=0)
    hours: float = Field(ge=0)
    source: str


class _Vot(_Row):
    share_of_value_per_day: float = Field(ge=0, le=1)
    default_value_per_kg: dict[str, float]
    source: str


class DestinationData(_Row):
    """The parsed ``destination.yaml``."""

    as_of: str
    eu: _Eu
    vat_standard_pct: _Vat
    import_clearance: _Clearance
    final_delivery: _Delivery
    cfs_destuffing: _Cfs
    value_of_time: _Vot


@lru_cache(maxsize=8)
def _load(path: str) -> DestinationData:
    p = Path(path)
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataError(path, None, None, "file not found") from None
    try:
        return DestinationData.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise DataError(path, None, ".".join(str(x) for x in err["loc"]), err["msg"]) from None


def destination_data(net: Network) -> DestinationData:
    """The destination figures of ``net``'s data directory (the bundled file when it has none)."""
    d = Path(net.data_dir) / DESTINATION_FILE if net.data_dir is not None else None
    return _load(str(d if d is not None and d.exists() else Path(BUNDLED_DATA_DIR) / DESTINATION_FILE))


@dataclass(frozen=True, slots=True)
class Charge:
    """One destination or tax line of a quote (network currency)."""

    code: str
    description: str
    amount: float
    basis: str
    minutes: int = 0
    estimate: bool = True


def finish_charges(dd: DestinationData, dest: Node, req: QuoteRequest, door: bool, boxed: bool) -> tuple[Charge, ...]:
    """Charges after the last leg reaches ``dest``: destuffing, import clearance, final delivery."""
    if dest.country == "CN" or door:
        return ()
    cargo = req.cargo
    parcels = cargo.customs_mode.value == "9610"
    out: list[Charge] = []
    if boxed and parcels:
        c = dd.cfs_destuffing
        out.append(Charge("CFS_DESTUFF", f"CFS destuffing at {dest.name} (parcels to be sorted)",
                          c.per_shipment + c.per_m3 * cargo.volume_m3, "per_shipment + per_m3", round(c.hours * 60)))
    ic = dd.import_clearance
    fee = ic.per_shipment + (ic.per_parcel * cargo.pieces if parcels else 0.0)
    out.append(Charge("CUSTOMS_IMPORT", f"import clearance at {dest.name}" + (f" ({cargo.pieces} parcels declared)" if parcels else ""),
                      fee, "per_shipment" + (" + per_parcel" if parcels else ""), round(ic.hours * 60)))
    if dest.kind is not NodeKind.OVERSEAS_WAREHOUSE:
        if parcels:
            p = dd.final_delivery.parcel
            per = p.by_country.get(dest.country, p.per_parcel)
            out.append(Charge("DELIVERY", f"final delivery of {cargo.pieces} parcels from {dest.name}",
                              per * cargo.pieces + p.per_kg * cargo.weight_kg, "per_parcel + per_kg", round(p.days * 1440)))
        else:
            f = dd.final_delivery.freight
            out.append(Charge("DELIVERY", f"final delivery from {dest.name} to the consignee",
                              f.per_shipment + f.per_kg * cargo.weight_kg, "per_shipment + per_kg", round(f.days * 1440)))
    return tuple(out)


def destuffing(dd: DestinationData, node: Node, req: QuoteRequest) -> Charge:
    """CFS destuffing where a container is opened mid-route to continue as loose cargo."""
    c = dd.cfs_destuffing
    return Charge("CFS_DESTUFF", f"CFS destuffing at {node.name} (container to loose cargo)",
                  c.per_shipment + c.per_m3 * req.cargo.volume_m3, "per_shipment + per_m3", round(c.hours * 60))


def duty_rate(rates: tuple[DutyRate, ...], hs_code: str, country: str, eu: bool) -> DutyRate | None:
    """The row of the longest HS prefix matching ``hs_code`` for ``country`` (its own code, EU, or *)."""
    best: DutyRate | None = None
    for r in rates:
        if not hs_code.startswith(r.hs_prefix):
            continue
        if r.country not in (country, "*") and not (eu and r.country == "EU"):
            continue
        if best is None or len(r.hs_prefix) > len(best.hs_prefix) or (
                len(r.hs_prefix) == len(best.hs_prefix) and best.country in ("*", "EU") and r.country == country):
            best = r
    return best


def tax_charges(dd: DestinationData, dest: Node, req: QuoteRequest, eur_per_usd: float | None) -> tuple[tuple[Charge, ...], tuple[str, ...]]:
    """(VAT / duty estimate lines, notes) for the request; route-independent."""
    value = req.goods_value
    notes: list[str] = []
    if dest.country == "CN":
        return (), ()
    if value is None:
        return (), (Note("tax.no_value", "taxes not estimated: give the declared goods value"),)
    eu = dest.country in dd.eu.countries
    cargo = req.cargo
    parcels = cargo.customs_mode.value == "9610"
    out: list[Charge] = []
    duty = 0.0
    low_value = False
    if eu and parcels:
        if eur_per_usd is None:
            notes.append(Note("ioss.no_rate", "IOSS threshold not checked: no USD/EUR rate for the ready date"))
        else:
            low_value = value / cargo.pieces * eur_per_usd <= dd.eu.ioss_threshold_eur
    if req.hs_code and req.duty_rates:
        row = duty_rate(req.duty_rates, req.hs_code, dest.country, eu)
        if row is None:
            notes.append(Note("duty.no_rate", f"no duty rate for HS {req.hs_code} into {dest.country} in the duty table",
                                  hs=req.hs_code, country=dest.country))
        elif low_value:
            notes.append(Note("duty.relief", f"duty relief: parcels of at most EUR {dd.eu.ioss_threshold_eur:g} (table rate {row.rate_pct:g} % not applied)",
                              threshold_eur=f"{dd.eu.ioss_threshold_eur:g}", rate_pct=f"{row.rate_pct:g}"))
        else:
            duty = value * row.rate_pct / 100.0
            out.append(Charge("DUTY", f"import duty {row.rate_pct:g} % (HS {row.hs_prefix}, {row.country})", duty, "pct_goods_value"))
    elif eu or parcels:
        notes.append(Note("duty.no_hs", "duty not estimated: give hs_code and a duty table"))
    if low_value and dd.eu.low_value_duty_eur_per_item and eur_per_usd and (
            dd.eu.low_value_duty_from is None or req.ready.date() >= dd.eu.low_value_duty_from):
        flat = dd.eu.low_value_duty_eur_per_item / eur_per_usd * cargo.pieces
        out.append(Charge("DUTY_FLAT", f"EU flat duty EUR {dd.eu.low_value_duty_eur_per_item:g} per low-value parcel", flat, "per_parcel"))
    if eu and parcels:
        rate = dd.vat_standard_pct.rates.get(dest.country)
        if rate is not None:
            if low_value:
                out.append(Charge("VAT_IOSS", f"VAT {rate:g} % ({dest.country}) collected through IOSS (parcels up to EUR "
                                  f"{dd.eu.ioss_threshold_eur:g})", value * rate / 100.0, "pct_goods_value"))
            else:
                out.append(Charge("VAT_IMPORT", f"import VAT {rate:g} % ({dest.country}) on goods value + duty",
                                  (value + duty) * rate / 100.0, "pct_goods_value"))
    return tuple(out), tuple(notes)


def read_duty_table(text: str, source: str = "duty table") -> tuple[DutyRate, ...]:
    """Parse a duty table (CSV, see the module doc); InvalidInput names the row and the field."""
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    missing = [c for c in ("hs_code", "country", "rate_pct") if c not in cols]
    if missing:
        raise InvalidInput(f"{source}: missing column(s) {', '.join(missing)} (header: hs_code,country,rate_pct[,note])",
                           field="duty_table")
    out: list[DutyRate] = []
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_DUTY_ROWS:
            raise InvalidInput(f"{source}: more than {MAX_DUTY_ROWS:,} rows", field="duty_table")
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        hs = row["hs_code"].replace(".", "")
        if not (hs.isdigit() and 2 <= len(hs) <= 10):
            raise InvalidInput(f"{source} row {line}: hs_code must be 2-10 digits (got {hs[:20]!r})", field=f"duty_table[{line}].hs_code")
        country = row["country"].upper()
        if not (country in ("EU", "*") or (len(country) == 2 and country.isalpha())):
            raise InvalidInput(f"{source} row {line}: country must be an ISO code, EU or * (got {country[:20]!r})",
                               field=f"duty_table[{line}].country")
        try:
            rate = float(row["rate_pct"])
        except ValueError:
            raise InvalidInput(f"{source} row {line}: rate_pct must be a number (got {row['rate_pct'][:20]!r})",
                               field=f"duty_table[{line}].rate_pct") from None
        if not 0 <= rate <= 1000:
            raise InvalidInput(f"{source} row {line}: rate_pct must be in [0, 1000] (got {rate:g})", field=f"duty_table[{line}].rate_pct")
        out.append(DutyRate(hs, country, rate, row.get("note", "")))
    return tuple(out)
