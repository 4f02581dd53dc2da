"""Shipments CSV: bad rows are reported with row and field, valid rows are kept."""

from __future__ import annotations

import pytest

from optimizer.errors import DataError
from optimizer.planning.shipments import read_shipments_csv, read_shipments_text

HEADER = "id,origin,destination,weight_kg,volume_m3,ready_date,due_date,pieces,cargo_class,customs_mode\n"
GOOD = "A1,MY_HTZ,WH_LODZ,1800,9,2026-10-05,2026-11-05,20,general,9810\n"


def test_sample_file_is_clean(net) -> None:
    load = read_shipments_csv(net, "data/samples/shipments_week.csv")
    assert len(load.shipments) >= 24 and not load.errors


def test_bad_rows_are_reported_and_valid_rows_kept(net) -> None:
    text = HEADER + GOOD + (
        "A2,MY_HTZ,NOWHERE,100,1,2026-10-05,2026-11-05,1,general,9710\n"  # row 3: unknown node
        "A3,MY_HTZ,LODZ,100,1,2026-10-05,2026-10-01,1,general,9710\n"  # row 4: due before ready
        "A4,MY_HTZ,LODZ,-5,1,2026-10-05,2026-11-05,1,general,9710\n"  # row 5: negative weight
        "A1,MY_HTZ,LODZ,100,1,2026-10-05,2026-11-05,1,general,9710\n"  # row 6: duplicate id
        "A5,MY_HTZ,LODZ,100,1,2026-10-05\n"  # row 7: malformed
        "A6,MY_HTZ,LODZ,100,abc,2026-10-05,2026-11-05,1,general,9710\n"  # row 8: volume not a number
        "A7,MY_HTZ,LODZ,100,1,2026-13-05,2026-11-05,1,general,9710\n"  # row 9: bad date
        "A8,MY_CITY,DUISBURG,500,3,2026-10-06,2026-11-06,2,general,9710\n"  # row 10: fine
    )
    load = read_shipments_text(net, text, "s.csv")
    assert [s.id for s in load.shipments] == ["A1", "A8"]
    got = {(e.row, e.field) for e in load.errors}
    assert got == {(3, "destination"), (4, "due_date"), (5, "weight_kg"), (6, "id"), (7, "due_date"), (8, "volume_m3"),
                   (9, "ready_date")}
    by_row = {d["row"]: d for d in load.errors_as_dicts()}
    assert "NOWHERE" in by_row[3]["message"] and "duplicate" in by_row[6]["message"]
    assert "expected 10 fields" in by_row[7]["message"]


def test_missing_column_is_fatal(net) -> None:
    with pytest.raises(DataError, match="due_date"):
        read_shipments_text(net, "id,origin,destination,weight_kg,volume_m3,ready_date\n", "s.csv")


def test_due_date_is_end_of_day_at_destination(net) -> None:
    load = read_shipments_text(net, HEADER + GOOD)
    s = load.shipments[0]
    assert s.due.isoformat() == "2026-11-05T22:59:00+00:00"  # 23:59 in Warsaw (CET)
    assert s.ready.isoformat() == "2026-10-05T01:00:00+00:00"  # 09:00 in Mianyang
