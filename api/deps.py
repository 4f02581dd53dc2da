"""Shared dependencies of the routers: the network model, the job runner, settings."""

from __future__ import annotations

from fastapi import Request

from api.jobs import JobRunner
from optimizer.config import Settings
from optimizer.network import Network


def get_network(request: Request) -> Network:
    return request.app.state.network


def get_jobs(request: Request) -> JobRunner:
    return request.app.state.jobs


def get_settings_dep(request: Request) -> Settings:
    return request.app.state.settings
