"""Batch plans against real capacities: shipments and candidates -> problem (data) -> solve -> plan."""
