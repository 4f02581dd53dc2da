"""Shared overseas warehouses: facility location, network design and stock policies."""
