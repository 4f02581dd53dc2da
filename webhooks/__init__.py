"""Events out to partners: per-organisation webhook subscriptions, an outbox of events, signed (HMAC) deliveries with retries and a delivery log (issue 18)."""
