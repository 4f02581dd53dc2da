"""Shared overseas warehouses as a shared resource: capacity offers, bookings, use and settlement between organisations (issue 19)."""
