"""Exact multi-criteria route quotes over the network: search, pricing of legs, customs rules."""
