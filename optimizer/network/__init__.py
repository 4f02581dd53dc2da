"""The network kernel every package reads: the shared vocabulary (``model``), the network and its
loader, schedules, time and geodesy helpers, and the one JSON/GeoJSON shape of options and the network.

It imports no engine wing (quotes, planning, warehouses, pickups); they all import it.

    >>> from optimizer.network import load_network
    >>> net = load_network()
"""

from optimizer.network.network import Network, load_network, load_network_from

__all__ = ["Network", "load_network", "load_network_from"]
