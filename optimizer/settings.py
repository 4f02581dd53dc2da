"""Settings from the environment (prefix ``CBEC_``) and an optional ``.env`` file, shared by every package.

Every variable is listed in the README's "Configuration" section; ``cbec config`` prints the values in use.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The top-level data/ folder, installed as the package ``cbec_data`` (editable or wheel alike).
BUNDLED_DATA_DIR = Path(str(files("cbec_data")))


def default_var_dir() -> Path:
    """One absolute place for the embedded database and job outputs, whatever the working directory:
    ``$XDG_STATE_HOME/cbec-logistics`` (default ``~/.local/state/cbec-logistics``)."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state).expanduser().resolve() / "cbec-logistics"


class Settings(BaseSettings):
    """The service's configuration; see the field descriptions (also in the README)."""

    model_config = SettingsConfigDict(env_prefix="CBEC_", extra="ignore", env_file=".env", env_file_encoding="utf-8")

    data_dir: Path = Field(default=BUNDLED_DATA_DIR, description="network data folder (default: the bundled data/)")
    var_dir: Path = Field(default_factory=default_var_dir,
                          description="embedded database and job outputs (default ~/.local/state/cbec-logistics)")
    database_url: str = Field(default="", description="SQLAlchemy URL; default SQLite file cbec.sqlite3 in var_dir")
    mqtt_url: str | None = Field(default=None, description="mqtt://user:pass@host:port of the broker; unset: embedded broker")
    mqtt_ingest_password: SecretStr | None = Field(
        default=None, min_length=16, max_length=256,
        description="MQTT password (16-256 characters) of the ingest's broker user (cbec-ingest, or the user name of "
                    "CBEC_MQTT_URL) when CBEC_MQTT_URL carries none; `cbec mqtt sync` writes its hash into Mosquitto's password file. "
                    "Unset with the embedded broker: a random one per start")
    dask_scheduler: str | None = Field(default=None, description="tcp://host:8786 of a Dask cluster; unset: local processes")
    ingest_client_id: str | None = Field(default=None, max_length=64,
                                         description="MQTT client id of this ingest worker (its persistent session); "
                                                     "default cbec-ingest-<hostname>")
    include_planned: bool = Field(default=False, description="quote over planned nodes/services by default")
    max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024, description="largest accepted HTTP request body")
    cors_origins: list[str] = Field(default_factory=list,
                                    description='origins allowed to call the API from a browser (JSON list, e.g. ["https://app.example"])')
    # durable jobs (jobs/): records in the database, run by in-process workers or on the Dask cluster
    job_workers: int = Field(default=2, ge=0, le=64,
                             description="in-process job workers when no Dask scheduler is set (0: this process only "
                                         "queues jobs; another process runs them)")
    job_quota: int = Field(default=10, ge=1, le=10_000,
                           description="running and queued jobs per owner (organisation); more are refused with 429")
    job_retry_after_s: int = Field(default=10, ge=1, le=3600, description="Retry-After of a 429 over the job quota")
    job_heartbeat_s: float = Field(default=5.0, gt=0, le=300, description="how often a running job writes its heartbeat")
    job_stale_s: float = Field(default=60.0, gt=0, le=86_400,
                               description="a running job whose heartbeat is older has lost its worker: it is re-queued "
                                           "or failed with the reason")
    job_max_attempts: int = Field(default=2, ge=1, le=10,
                                  description="runs a job gets when its worker stops under it; then it fails with the reason")
    anon_quotes_per_min: float = Field(default=60.0, ge=0, le=1_000_000,
                                       description="POST /v1/quotes without a credential: requests per minute per client "
                                                   "address (a token bucket in each API process; 0: no limit); "
                                                   "authenticated callers are not limited")
    anon_quotes_burst: int = Field(default=20, ge=1, le=100_000,
                                   description="anonymous quotes a client may send at once before the per-minute rate "
                                               "applies (the bucket's size)")
    quote_validity_days: int = Field(default=7, ge=1, le=365,
                                     description="longest a saved quote holds its prices; shorter when a tariff or "
                                                 "timetable it uses ends sooner (its valid_to)")
    # the CLI's remote mode: with an API URL, `cbec quote|plan|simulate run|track|jobs` call that service
    api_url: str | None = Field(default=None, max_length=2048,
                                description="http(s)://host[:port] of a deployed service: the CLI's quote, plan, "
                                            "simulate run, track and jobs commands call it instead of running here")
    api_key: SecretStr | None = Field(default=None, max_length=256,
                                      description="the API key (cbk_...) the CLI sends to CBEC_API_URL")
    log_format: str = Field(default="json", pattern="^(json|text)$", description="json (one object per line) or text")
    log_level: str = Field(default="info", pattern="^(debug|info|warning|error)$")
    secret_key: SecretStr | None = Field(default=None, min_length=32,
                                         description="signs the bearer tokens (JWT, HS256): at least 32 characters, the "
                                                     "same in every API process; unset: generated once and kept in "
                                                     "var_dir/secret_key (one machine only)")
    # webhooks to partners (webhooks/): the delivery worker of `cbec serve` / `cbec ingest`
    webhooks_timeout_s: float = Field(default=5.0, gt=0, le=60, description="longest a partner's endpoint may take to answer")
    webhooks_max_attempts: int = Field(default=8, ge=1, le=30,
                                       description="attempts of a delivery (exponential back-off from 10 s) before it fails")
    webhooks_allow_private: bool = Field(default=False, description="allow webhook targets on private, loopback, "
                                                                    "link-local and other non-public addresses, at "
                                                                    "registration and at delivery, where host names "
                                                                    "are resolved and checked (tests, closed networks)")

    @model_validator(mode="after")
    def _resolve_paths(self) -> "Settings":
        self.var_dir = Path(self.var_dir).expanduser().resolve()
        if not self.database_url:
            self.database_url = "sqlite:///" + str(self.var_dir / "cbec.sqlite3")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (read once)."""
    return Settings()
