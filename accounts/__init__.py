"""Accounts: organisations (the tenants), their users and roles, API keys, bearer tokens and the
credentials of devices. Imports storage (its tables live in the one Alembic history) and the ingest's
tables (devices carry their organisation); imported by ``api`` only.

* ``principal``: who is calling (:class:`Principal`), the roles and kinds of organisation.
* ``credentials``: secrets (API keys, device keys) and their hashes; password hashing (argon2).
* ``tokens``: short-lived JWT bearer tokens signed with ``CBEC_SECRET_KEY``.
* ``store``: organisations, users and API keys in the database.
* ``devices``: device credentials (HTTP telemetry; later the broker's password file and ACL).
* ``authenticate``: turn a request's credentials into a :class:`Principal`, with a short cache.

See ``accounts/README.md`` for the design (formats, lifetimes, the cache and its delays).
"""
