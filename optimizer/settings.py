"""Settings from the environment (prefix ``CBEC_``), shared by every package."""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

# The top-level data/ folder, installed as the package ``cbec_data`` (editable or wheel alike).
BUNDLED_DATA_DIR = Path(str(files("cbec_data")))


class Settings(BaseSettings):
    """``CBEC_DATABASE_URL`` (default SQLite under ./var), ``CBEC_MQTT_URL`` (unset: embedded broker),
    ``CBEC_DASK_SCHEDULER`` (unset: local process pool), ``CBEC_DATA_DIR`` (unset: bundled data/)."""

    model_config = SettingsConfigDict(env_prefix="CBEC_", extra="ignore")

    data_dir: Path = BUNDLED_DATA_DIR
    database_url: str = "sqlite:///" + str(Path("var") / "cbec.sqlite3")
    mqtt_url: str | None = None
    dask_scheduler: str | None = None
    var_dir: Path = Path("var")
    include_planned: bool = False


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
