"""Shared overseas warehouses as a shared resource: capacity offers, bookings, use and settlement between
organisations (issue 19).

- ``model``: the records (offers and their terms, booking requests, bookings) and their validation;
- ``rules``: who may book, what an offer accepts, what a cancellation or change costs;
- ``offers``: publish, list, withdraw; booked vs offered per day beside the sensors' free space;
- ``bookings``: request (confirmed / held / waitlisted / refused, never overbooked), confirm, change,
  cancel, expire, promote the waitlist; the operator's refusal or cancellation with a reason;
- ``usage``: stock movements drawing on bookings (plans, tracked shipments, by hand), reconciliation;
- ``settlement``, ``export``, ``signing``: the monthly settlement per pair, CSV/XLSX, signed statements;
- ``disclosure``: the statistics office's rule on the office's totals between cities (primary and
  secondary suppression);
- ``recommend``, ``planning``: the optimisers on what is on offer (what to book, the network design, batch
  plans on booked inbound capacity; ``POST /v1/plans`` and ``POST /v1/warehouse-designs`` read them too);
- ``profiles`` (home city, partners), ``audit`` (who changed what, when), ``store``, ``tables``.

The HTTP faces are ``api/routers/{offers,bookings,settlements}.py``, the CLI ``api/cli/sharing.py``.
"""
