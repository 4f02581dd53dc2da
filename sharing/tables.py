"""Tables of ``sharing`` (SQLAlchemy Core); created by migration 0006_sharing.

Times are BigInteger milliseconds since the epoch (UTC), as elsewhere; calendar days (offer periods,
bookings, stock movements) are ``Date`` columns, in the warehouse's own calendar. Every row carries the
organisation it belongs to (an ``acc_orgs`` id; no foreign key across the packages' tables, as the ingest's
``org_id`` columns): an offer its operator (``org_id``), a booking its booker (``org_id``) and the
offer's operator (``operator_org_id``), so that both parties' queries are scoped by an indexed column.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

ID = String(64)

profiles = Table(
    "sh_profiles", metadata,
    Column("org_id", ID, primary_key=True),
    Column("city", String(64), nullable=False),  # the organisation's home city (settlement between cities)
    Column("updated_ms", BigInteger, nullable=False),
)

partners = Table(
    "sh_partners", metadata,
    Column("operator_org_id", ID, primary_key=True),
    Column("partner_org_id", ID, primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
)

offers = Table(
    "sh_offers", metadata,
    Column("offer_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # the warehouse operator
    Column("warehouse", String(64), nullable=False),  # an overseas_warehouse node of the network
    Column("status", String(16), nullable=False),  # open | withdrawn
    Column("storage_unit", String(8), nullable=False),  # m3 | pallet
    Column("storage_capacity", Float, nullable=False),  # in storage_unit, every day of the period
    Column("inbound_m3_per_day", Float, nullable=False),
    Column("start_day", Date, nullable=False),
    Column("end_day", Date, nullable=False),  # inclusive
    Column("price_storage", Float, nullable=False),  # per storage_unit and day
    Column("price_inbound", Float, nullable=False),  # per inbound m3
    Column("currency", String(3), nullable=False),
    Column("cargo_classes", Text, nullable=False),  # comma-separated CargoClass values accepted
    Column("customs_modes", Text, nullable=False),  # comma-separated customs modes served
    Column("who_may_book", String(16), nullable=False),  # everyone | list | partners
    Column("allowed_orgs", Text, nullable=False),  # comma-separated org ids (who_may_book = list)
    Column("notice_days", Integer, nullable=False),
    Column("cancel_fee_share", Float, nullable=False),
    Column("settle_on", String(8), nullable=False),  # booked | used | split
    Column("booked_share", Float, nullable=False),  # share of the charge on booked quantities (split)
    Column("hold_hours", Integer, nullable=False),  # how long a held booking keeps its space unconfirmed
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)
Index("ix_sh_offers_org", offers.c.org_id)
Index("ix_sh_offers_wh", offers.c.warehouse, offers.c.status)

bookings = Table(
    "sh_bookings", metadata,
    Column("booking_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # who booked
    Column("offer_id", ID, ForeignKey("sh_offers.offer_id"), nullable=False),
    Column("operator_org_id", ID, nullable=False),
    Column("warehouse", String(64), nullable=False),
    Column("kind", String(8), nullable=False),  # storage | inbound
    Column("quantity", Float, nullable=False),  # storage: offer units every day; inbound: m3 per day
    Column("start_day", Date, nullable=False),
    Column("end_day", Date, nullable=False),  # inclusive
    Column("cargo_class", String(32), nullable=False),
    Column("customs_mode", String(8), nullable=False),
    Column("status", String(16), nullable=False),  # held | confirmed | waitlisted | refused | cancelled | expired
    Column("reason", Text),  # why refused / waitlisted / expired / cancelled
    Column("expires_ms", BigInteger),  # held: confirm by; waitlisted: wait until
    Column("fee", Float, nullable=False),  # cancellation / change fees charged by the terms
    Column("request_key", String(128)),  # the client's idempotency key (one answer per key)
    Column("created_by", ID),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
    UniqueConstraint("org_id", "request_key", name="uq_sh_bookings_request"),
)
Index("ix_sh_bookings_org", bookings.c.org_id, bookings.c.created_ms)
Index("ix_sh_bookings_operator", bookings.c.operator_org_id, bookings.c.created_ms)
Index("ix_sh_bookings_offer", bookings.c.offer_id, bookings.c.status)

movements = Table(
    "sh_movements", metadata,
    Column("movement_id", ID, primary_key=True),
    Column("org_id", ID, nullable=False),  # whose stock
    Column("warehouse", String(64), nullable=False),
    Column("offer_id", ID, ForeignKey("sh_offers.offer_id")),  # the offer whose space it is in (None: unbooked)
    Column("booking_id", ID, ForeignKey("sh_bookings.booking_id")),  # inbound: the booking it drew on
    Column("day", Date, nullable=False),
    Column("direction", String(4), nullable=False),  # in | out
    Column("m3", Float, nullable=False),
    Column("source", String(16), nullable=False),  # manual | plan | shipment | operator
    Column("ref", String(128), nullable=False),  # idempotency: one movement per (org, source, ref)
    Column("recorded_by", ID, nullable=False),  # the organisation that recorded it
    Column("created_ms", BigInteger, nullable=False),
    UniqueConstraint("org_id", "source", "ref", name="uq_sh_movements_ref"),
)
Index("ix_sh_movements_wh", movements.c.warehouse, movements.c.day)
Index("ix_sh_movements_org", movements.c.org_id, movements.c.day)

audit = Table(
    "sh_audit", metadata,
    Column("audit_id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor_org", ID),  # None: an operator at the CLI, or the system (expiry, promotion)
    Column("actor", String(100)),  # user id, key id, "cli" or "system"
    Column("subject", String(16), nullable=False),  # offer | booking | profile | partner | movement
    Column("subject_id", ID, nullable=False),
    Column("action", String(32), nullable=False),
    Column("detail", Text, nullable=False),  # JSON: what changed
    Column("owner_org", ID),  # the booker (bookings), so both parties can read a booking's trail
    Column("operator_org", ID),
)
Index("ix_sh_audit_subject", audit.c.subject, audit.c.subject_id)
