"""Shared overseas warehouses: facility location (facility, orlib readers), network design (design) and
stock policies (stock: one policy; policies: the use case over a design, shared by the CLI and the API)."""
