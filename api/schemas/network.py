"""Schemas of the network resources (GeoJSON, node list) and of the health check."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class Feature(BaseModel):
    """A GeoJSON feature; ``properties.feature`` is ``node`` or ``service``. Other members are kept."""

    model_config = ConfigDict(extra="allow")

    type: Literal["Feature"] = "Feature"
    geometry: dict[str, Any] | None = Field(description="GeoJSON geometry: a Point (node) or a LineString (service)")
    properties: dict[str, Any] | None


class FeatureCollection(BaseModel):
    """A GeoJSON FeatureCollection (RFC 7946); foreign members such as ``properties`` are kept."""

    model_config = ConfigDict(extra="allow")

    type: Literal["FeatureCollection"] = "FeatureCollection"
    features: list[Feature]


class NodeOut(BaseModel):
    id: str
    name: str
    kind: str
    country: str
    status: str
    lat: float
    lon: float


class HealthOut(BaseModel):
    status: Literal["ok"]
    nodes: int = Field(description="nodes in the loaded network")
    services: int
    data_as_of: str
