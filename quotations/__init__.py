"""Quotes a forwarder signs: saved quotes with ids and validity, currencies, organisations' own rate sheets, capacity held by plans, bookings and shipments (issue 20)."""
