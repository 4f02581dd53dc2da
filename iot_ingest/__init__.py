"""IoT ingest: MQTT (paho) -> one decoder per payload format -> one normalised Reading -> a chain of
handlers (validate, de-duplicate, order, geofence, milestones/ETA, alerts) -> store.

    >>> from storage.db import open_db
    >>> from iot_ingest.pipeline import Pipeline
    >>> db = open_db("sqlite:///:memory:", migrate=True)
    >>> Pipeline(db).process_raw([("cbec/v1/devices/TRK1/position", b'{"ts": 1, "lat": 0, "lon": 0}')]).dead_lettered
    1
"""
