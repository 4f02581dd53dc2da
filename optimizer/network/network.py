"""The network model: nodes, services and their schedules, loaded and validated once, then read-only.

    >>> from optimizer.network import load_network
    >>> net = load_network()                  # bundled data/ (or CBEC_DATA_DIR)
    >>> net.node("LODZ").name
    'Łódź (rail terminal and market)'
    >>> [s.id for s in net.services_from("CD_RAILPORT")][:2]
    ['CRE_CD_LODZ', ...]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType

from optimizer.errors import InvalidInput, UnknownNode
from optimizer.network.loader import (
    load_nodes,
    load_parameters,
    load_services,
    load_tariffs,
    to_containers,
    to_customs,
    to_factors,
)
from optimizer.network.model import ContainerType, CustomsModeInfo, Departure, EmissionFactor, Node, NodeKind, Service, Status
from optimizer.network.schedule import DepartureTable, make_departure
from optimizer.network.parcel_products import PARCEL_FILE, load_parcel_products
from optimizer.network.timeutil import to_minutes
from optimizer.settings import get_settings


def _rebuild_network(nodes, services, factors, containers, customs, currency, as_of, co2e_method, circuity, data_dir) -> "Network":
    """Network.__reduce__'s constructor: the arguments of Network() in order (keywords are not picklable there)."""
    return Network(nodes, services, factors, containers, customs, currency=currency, as_of=as_of, co2e_method=co2e_method,
                   circuity=circuity, data_dir=data_dir)


DATA_FILES = ("nodes.csv", "services.yaml", "tariffs.yaml", "parameters.yaml")


class Network:
    """Read-only network. Build with :func:`load_network`; derive variants with :meth:`derive`."""

    def __init__(
        self,
        nodes: Mapping[str, Node],
        services: Mapping[str, Service],
        emission_factors: Mapping[str, EmissionFactor],
        containers: Mapping[str, ContainerType],
        customs_modes: Mapping[str, CustomsModeInfo],
        *,
        currency: str,
        as_of: str,
        co2e_method: str,
        circuity: Mapping[str, float],
        data_dir: Path | None = None,
    ) -> None:
        self.nodes: Mapping[str, Node] = MappingProxyType(dict(nodes))
        self.services: Mapping[str, Service] = MappingProxyType(dict(services))
        self.emission_factors = MappingProxyType(dict(emission_factors))
        self.containers = MappingProxyType(dict(containers))
        self.customs_modes = MappingProxyType(dict(customs_modes))
        self.currency = currency
        self.as_of = as_of
        self.co2e_method = co2e_method
        self.circuity = MappingProxyType(dict(circuity))
        self.data_dir = data_dir
        out: dict[str, list[Service]] = {n: [] for n in self.nodes}
        for s in self.services.values():
            out[s.origin].append(s)
        self._out = {k: tuple(v) for k, v in out.items()}
        self._tables: dict[str, DepartureTable] = {}

    def __reduce__(self) -> tuple:
        # picklable for worker processes (optimizer.planning.candidates_parallel); schedules are rebuilt there
        return (_rebuild_network, (dict(self.nodes), dict(self.services), dict(self.emission_factors), dict(self.containers),
                                   dict(self.customs_modes), self.currency, self.as_of, self.co2e_method, dict(self.circuity),
                                   self.data_dir))

    # --- lookup -------------------------------------------------------------------------------
    def node(self, node_id: str, field: str = "node") -> Node:
        """The node with this id; raises UnknownNode (with close ids) otherwise."""
        try:
            return self.nodes[node_id]
        except KeyError:
            raise UnknownNode(node_id, self.nodes, field) from None

    def service(self, service_id: str) -> Service:
        try:
            return self.services[service_id]
        except KeyError:
            raise InvalidInput(f"unknown service '{service_id}'", field="service") from None

    def services_from(self, node_id: str, include_planned: bool = False) -> tuple[Service, ...]:
        out = self._out.get(node_id, ())
        return out if include_planned else tuple(s for s in out if not s.planned)

    def nodes_of_kind(self, *kinds: NodeKind) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind in kinds]

    def warehouses(self) -> list[Node]:
        return self.nodes_of_kind(NodeKind.OVERSEAS_WAREHOUSE)

    def emission_factor(self, service: Service) -> EmissionFactor:
        return self.emission_factors[service.emission_factor]

    # --- schedules ----------------------------------------------------------------------------
    def departure_table(self, service: Service) -> DepartureTable:
        table = self._tables.get(service.id)
        if table is None:
            table = self._tables[service.id] = DepartureTable(service, self.nodes[service.origin].tz)
        return table

    def next_departure_minute(self, service: Service, ready_minute: int) -> int:
        """Earliest departure (UTC minutes) the cargo can make when it is at the origin at ``ready_minute``."""
        if service.schedule.continuous:
            return ready_minute
        return self.departure_table(service).next_departure(ready_minute)

    def departures(self, service: Service, start: datetime, end: datetime) -> list[Departure]:
        """Scheduled departures of ``service`` leaving in [start, end). Road: none (continuous)."""
        if service.schedule.continuous:
            return []
        table = self.departure_table(service)
        return [make_departure(service, m) for m in table.between(to_minutes(start), to_minutes(end))]

    # --- variants -----------------------------------------------------------------------------
    def derive(
        self,
        *,
        services: Mapping[str, Service] | None = None,
        nodes: Mapping[str, Node] | None = None,
        activate_planned: bool = False,
        drop_services: Iterable[str] = (),
    ) -> "Network":
        """A new Network with replaced services/nodes (scenarios, re-planning); this one is unchanged."""
        new_nodes = dict(nodes if nodes is not None else self.nodes)
        new_services = dict(services if services is not None else self.services)
        for sid in drop_services:
            new_services.pop(sid, None)
        if activate_planned:
            new_nodes = {k: dataclasses.replace(n, status=Status.ACTIVE) for k, n in new_nodes.items()}
            new_services = {k: dataclasses.replace(s, status=Status.ACTIVE) for k, s in new_services.items()}
        return Network(
            new_nodes,
            new_services,
            self.emission_factors,
            self.containers,
            self.customs_modes,
            currency=self.currency,
            as_of=self.as_of,
            co2e_method=self.co2e_method,
            circuity=self.circuity,
            data_dir=self.data_dir,
        )


def load_network_from(data_dir: Path | str) -> Network:
    """Load and validate the four data files in ``data_dir``; raises DataError on the first problem."""
    data_dir = Path(data_dir)
    params = load_parameters(data_dir / "parameters.yaml")
    nodes = load_nodes(data_dir / "nodes.csv")
    tariffs = load_tariffs(data_dir / "tariffs.yaml")
    services = load_services(data_dir / "services.yaml", nodes, tariffs, params)
    # parcel and express products (9610): one door-delivery service per product and destination node
    services.update(load_parcel_products(data_dir / PARCEL_FILE, nodes, params.emission_factors,
                                         {m.value: v.factor or 1.0 for m, v in params.circuity.items()}))
    return Network(
        nodes,
        services,
        to_factors(params),
        to_containers(params),
        to_customs(params),
        currency=params.currency,
        as_of=params.as_of,
        co2e_method=params.co2e_method,
        circuity={m.value: v.factor or 1.0 for m, v in params.circuity.items()},
        data_dir=data_dir,
    )


@lru_cache(maxsize=4)
def _cached(data_dir: str) -> Network:
    return load_network_from(data_dir)


def load_network(data_dir: Path | str | None = None) -> Network:
    """The network in ``data_dir`` (default ``CBEC_DATA_DIR`` or the bundled ``data/``), cached per directory."""
    if data_dir is None:
        data_dir = get_settings().data_dir
    return _cached(str(Path(data_dir).resolve()))
