"""Shared fixtures: the bundled network (loaded once per session)."""

from __future__ import annotations

import pytest

from optimizer.network import Network, load_network


@pytest.fixture(scope="session")
def net() -> Network:
    return load_network()
