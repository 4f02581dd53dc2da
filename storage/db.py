"""Database access: SQLite by default, PostgreSQL when ``CBEC_DATABASE_URL`` says so.

The schema is created and upgraded by Alembic (``storage/migrations``) as an explicit step
(``cbec db upgrade``; ``cbec serve`` runs it at start). Hot-path writes use the DBAPI
``executemany`` directly (one transaction per batch).
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError
from sqlalchemy.pool import StaticPool

from optimizer.errors import InvalidInput, ServiceUnavailable
from optimizer.quotes.limits import shown
from optimizer.settings import get_settings

MIGRATIONS = Path(str(files("storage") / "migrations"))  # package data, in a wheel too
VERSION_TABLE = "iot_alembic_version"  # as in migrations/env.py: other packages may run their own Alembic


def normalise_url(url: str) -> str:
    """``postgres://`` / ``postgresql://`` -> the psycopg 3 driver (the one installed)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


@dataclass
class Database:
    """An engine plus what the writers need to know about its dialect."""

    engine: Engine
    url: str

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def sql(self, text: str) -> str:
        """Turn ``?`` placeholders into the driver's own (psycopg uses ``%s``) for exec_driver_sql."""
        return text if self.is_sqlite else text.replace("%", "%%").replace("?", "%s")

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")  # readers (API, CLI) never block the ingest writer
    # FULL: every commit fsyncs the WAL, so what is acked to the broker survives even an OS crash
    # or power loss. NORMAL would survive a process crash only (the WAL is synced at checkpoints),
    # and an OS crash could lose the last commits after their PUBACKs - messages the broker has
    # forgotten. Kept FULL: the consumer's writer thread overlaps the fsync with receiving the next
    # batch, so it costs little throughput (measured with bench/ingest_bench.py).
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def open_db(url: str | None = None, *, migrate: bool = False) -> Database:
    """Open the database at ``url`` (default ``CBEC_DATABASE_URL``).

    Migrations are an explicit step: with ``migrate`` (``cbec db upgrade``, and the server roles
    ``cbec serve`` / ``cbec ingest`` at start) the schema is created or upgraded to head; without it
    the database must exist and be at head already, else :class:`ServiceUnavailable` says what to run
    (read-only commands never create or change a database)."""
    if url is None:
        url = get_settings().database_url
    if not isinstance(url, str) or not url.strip() or not url.isprintable() or len(url) > 2048:
        raise InvalidInput("database URL must be a printable URL of at most 2,048 characters, e.g. "
                           "sqlite:////abs/path/cbec.sqlite3 or postgresql://user@host/db", field="database_url")
    url = normalise_url(url)
    if url.startswith("sqlite"):
        memory = url in ("sqlite://", "sqlite:///:memory:")
        if not memory:
            if "///" not in url:
                raise InvalidInput("a SQLite URL is sqlite:///relative/path or sqlite:////absolute/path "
                                   f"(got '{shown(url, 80)}')", field="database_url")
            path = Path(url.split("///", 1)[1].split("?", 1)[0])
            if migrate:
                path.parent.mkdir(parents=True, exist_ok=True)
            elif not path.exists():
                raise ServiceUnavailable(f"no database at {path}: run `cbec db upgrade` (or `cbec serve`) first, "
                                         "or point CBEC_DATABASE_URL / --db at one", field="database_url")
        kwargs: dict = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if memory:
            kwargs["poolclass"] = StaticPool
        engine = _engine(url, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        _begin_immediate(engine)
    else:
        engine = _engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 5})
    db = Database(engine, url)
    if migrate:
        try:
            upgrade(db)
        except DBAPIError as exc:
            raise _unreachable(db, exc) from None
    else:
        require_current(db)
    return db


def _engine(url: str, **kwargs) -> Engine:
    """``create_engine``, with a malformed URL or an unknown driver as one InvalidInput."""
    try:
        return create_engine(url, **kwargs)
    except (ArgumentError, NoSuchModuleError, ImportError, ValueError) as exc:
        raise InvalidInput(f"database URL '{shown(_hide_password(url), 80)}' cannot be used: "
                           f"{shown(str(exc).splitlines()[0] if str(exc) else type(exc).__name__, 160)}",
                           field="database_url") from None


def _hide_password(url: str) -> str:
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - a URL SQLAlchemy cannot parse: show the scheme only
        return url.split(":", 1)[0] + ":..."


def _unreachable(db: Database, exc: Exception) -> ServiceUnavailable:
    reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
    where = db.engine.url.render_as_string(hide_password=True)
    return ServiceUnavailable(f"database {where} unreachable: {reason}", field="database_url")


def head_revision() -> str:
    """The newest migration this version of the code ships."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(cfg).get_current_head() or ""


def current_revision(db: Database) -> str | None:
    """The schema revision recorded in the database (None: never migrated)."""
    from alembic.runtime.migration import MigrationContext

    try:
        with db.engine.connect() as conn:
            return MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE}).get_current_revision()
    except DBAPIError as exc:
        raise _unreachable(db, exc) from None


def require_current(db: Database) -> None:
    """Raise :class:`ServiceUnavailable` unless the database is reachable and its schema at head."""
    have, want = current_revision(db), head_revision()
    if have != want:
        raise ServiceUnavailable(f"database schema is at revision {have or 'none'}, this version needs {want}: "
                                 "run `cbec db upgrade`", field="database_url")


def _begin_immediate(engine: Engine) -> None:
    """Take SQLite's write lock at BEGIN, so that concurrent writers (two ingest processes, the
    API's POST /v1/telemetry) wait for each other instead of failing on a lock upgrade."""

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn, _record) -> None:
        dbapi_conn.isolation_level = None  # pysqlite must not issue its own BEGIN

    @event.listens_for(engine, "begin")
    def _begin(conn) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(db: Database) -> None:
    """Run the Alembic migrations to head on this database."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


# --- the ingest epoch: lets a pipeline keep registry, device state and shipments in memory ------
EPOCH_COUNTER = "state_epoch"
_EPOCH_SQL = ("INSERT INTO iot_counters (name, value) VALUES ('" + EPOCH_COUNTER + "', 1) "
              "ON CONFLICT (name) DO UPDATE SET value = iot_counters.value + 1 RETURNING value")


def bump_epoch(conn) -> int:
    """Count one more write of ingest state (a batch, a bind, a new shipment) in ``conn``'s open
    transaction and return the new value. The row lock it takes also serialises writers of device
    state on PostgreSQL (SQLite's BEGIN IMMEDIATE already does). A pipeline whose last committed
    epoch is exactly one below the value it gets back knows that nobody else changed the registry,
    device state or shipments since, so its in-memory copies are still those of the database."""
    return int(conn.exec_driver_sql(_EPOCH_SQL).scalar_one())
