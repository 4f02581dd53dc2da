"""Pilot-zone data exchange: enterprises, e-commerce orders, payments, waybills, 9810 stock movements; the three-document check; statistics (issue 18)."""
