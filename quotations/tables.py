"""Tables of ``quotations`` (SQLAlchemy Core); created by migration 0007_quotations.

Times are BigInteger milliseconds since the epoch (UTC), as elsewhere. A saved quote keeps the whole
document it answered (prices frozen) so that fetching it later returns the same prices until it
expires; only organisations' quotes are saved (anonymous ones are answered, not stored). A rate
sheet is one row per uploaded version of a named sheet of an organisation, its validated lines as JSON. A
space booking holds the departures of one option of a saved quote (migration 0008_space_bookings).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Date, Index, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

ID = String(64)

quotes = Table(
    "qt_quotes", metadata,
    Column("quote_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # an acc_orgs id (no foreign key across the packages' tables)
    Column("created_ms", BigInteger, nullable=False),
    Column("valid_until_ms", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("document", Text, nullable=False),  # the quote as answered (JSON)
)
Index("ix_qt_quotes_org", quotes.c.org_id, quotes.c.created_ms)

rate_sheets = Table(
    "qt_rate_sheets", metadata,
    Column("sheet_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # an acc_orgs id (no foreign key across the packages' tables)
    Column("name", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(16), nullable=False),  # active | superseded | retired
    Column("filename", String(200), nullable=False),
    Column("currencies", String(64), nullable=False),  # comma-separated currencies of its lines
    Column("valid_from", Date, nullable=False),  # the earliest line's
    Column("valid_to", Date, nullable=False),  # the latest line's
    Column("line_count", Integer, nullable=False),
    Column("lines", Text, nullable=False),  # the validated lines (JSON)
    Column("created_ms", BigInteger, nullable=False),
    Column("created_by", ID),
    Column("retired_ms", BigInteger),
    UniqueConstraint("org_id", "name", "version", name="uq_qt_rate_sheets_version"),
)
Index("ix_qt_rate_sheets_org", rate_sheets.c.org_id, rate_sheets.c.status)

space_bookings = Table(
    "qt_space_bookings", metadata,
    Column("booking_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # an acc_orgs id (no foreign key across the packages' tables)
    Column("quote_id", ID, nullable=False),
    Column("option_id", String(1000), nullable=False),  # the option's ``id`` in the saved quote (its departures)
    Column("status", String(16), nullable=False),  # booked | cancelled
    Column("request_key", String(64)),  # the client's idempotency key (one booking per organisation and key)
    Column("holds", Text, nullable=False),  # JSON: [{service, depart_date, departure_id, kg, m3, teu}]
    Column("first_departure_ms", BigInteger, nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("created_by", ID),
    Column("cancelled_ms", BigInteger),
    Column("reason", String(500)),
    UniqueConstraint("org_id", "request_key", name="uq_qt_space_bookings_key"),
)
Index("ix_qt_space_bookings_org", space_bookings.c.org_id, space_bookings.c.created_ms)
Index("ix_qt_space_bookings_status", space_bookings.c.status)
