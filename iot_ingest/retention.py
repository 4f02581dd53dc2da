"""Retention and downsampling: raw readings older than ``keep_days`` are folded into hourly rows
(count, last position, temperature min/max/mean, mean humidity) and deleted. Run hourly by the
consumer and by ``cbec ingest prune``. (Traccar and OwnTracks ship none; it is their users' top
operational complaint - reference/iot.md §1, §4.)"""

from __future__ import annotations

import time

from iot_ingest import tables as t
from storage.db import Database
from iot_ingest.milestones import iso_utc
from optimizer.quotes.limits import Range

HOUR_MS = 3_600_000
# a negative or zero keep-days would delete every raw reading (it did: --keep-days -1); 100 years is
# "keep everything" already
KEEP_DAYS = Range(0, 36_500, lo_open=True, unit="days")


def prune(db: Database, keep_days: float = 90.0, now_ms: int | None = None, *,
          dry_run: bool = False) -> dict[str, int | str | bool]:
    """Downsample and delete raw readings older than ``keep_days`` (in (0, 36,500]); returns counts.
    With ``dry_run`` nothing is written: the counts say what would be downsampled and deleted."""
    KEEP_DAYS.check(keep_days, "keep_days", "keep-days")
    cutoff = (now_ms or int(time.time() * 1000)) - int(keep_days * 86_400_000)
    cutoff -= cutoff % HOUR_MS  # whole hours only, so a bucket is never split across two runs
    r, h = t.readings.name, t.readings_hourly.name
    bucket = f"(ts_ms / {HOUR_MS}) * {HOUR_MS}"  # integer division on both SQLite and PostgreSQL
    head: dict[str, int | str | bool] = {"cutoff": iso_utc(cutoff), "dry_run": dry_run}
    if dry_run:
        with db.engine.connect() as conn:
            run = conn.exec_driver_sql
            n_old = run(db.sql(f"SELECT COUNT(*) FROM {r} WHERE ts_ms < ?"), (cutoff,)).scalar_one()
            buckets = run(db.sql(f"SELECT COUNT(*) FROM (SELECT device_id, {bucket} AS b FROM {r} WHERE ts_ms < ? "
                                 f"GROUP BY device_id, {bucket}) AS g"), (cutoff,)).scalar_one()
        return {**head, "downsampled_buckets": int(buckets), "deleted": 0, "would_delete": int(n_old)}
    with db.engine.begin() as conn:
        run = conn.exec_driver_sql
        n_old = run(db.sql(f"SELECT COUNT(*) FROM {r} WHERE ts_ms < ?"), (cutoff,)).scalar_one()
        if not n_old:
            return {**head, "downsampled_buckets": 0, "deleted": 0}
        rows = run(db.sql(
            f"SELECT device_id, {bucket} AS b, COUNT(*), MIN(temperature_c), MAX(temperature_c), AVG(temperature_c), "
            f"AVG(humidity_pct), MAX(ts_ms) FROM {r} WHERE ts_ms < ? GROUP BY device_id, {bucket}"), (cutoff,)).all()
        out = []
        for dev, b, n, tmin, tmax, tavg, hum, last_ts in rows:
            pos = run(db.sql(f"SELECT lat, lon FROM {r} WHERE device_id = ? AND ts_ms <= ? AND ts_ms >= ? "
                             "AND lat IS NOT NULL ORDER BY ts_ms DESC LIMIT 1"), (dev, last_ts, b)).first()
            out.append((dev, b, n, pos[0] if pos else None, pos[1] if pos else None, tmin, tmax, tavg, hum))
        run(db.sql(f"INSERT INTO {h} (device_id, bucket_ms, n, lat, lon, temp_min, temp_max, temp_avg, humidity_avg) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (device_id, bucket_ms) DO UPDATE SET "
                   f"n = {h}.n + excluded.n, lat = excluded.lat, lon = excluded.lon, "
                   f"temp_min = CASE WHEN excluded.temp_min < {h}.temp_min OR {h}.temp_min IS NULL THEN excluded.temp_min ELSE {h}.temp_min END, "
                   f"temp_max = CASE WHEN excluded.temp_max > {h}.temp_max OR {h}.temp_max IS NULL THEN excluded.temp_max ELSE {h}.temp_max END, "
                   "temp_avg = excluded.temp_avg, humidity_avg = excluded.humidity_avg"), out)
        deleted = run(db.sql(f"DELETE FROM {r} WHERE ts_ms < ?"), (cutoff,)).rowcount
    return {**head, "downsampled_buckets": len(out), "deleted": deleted}
