"""Penny's SQLite store: one file, WAL mode, schema as named migrations.

Each area owns a module here with its migrations and its queries (`cache`, `approvals`,
`audit`, `ledger`, `sessions`, `usage`...). `bot.store.db.open_store` applies every
migration listed in `bot.store.migrations.ALL_MIGRATIONS` once, in order.
"""

from bot.store.db import Store, open_store

__all__ = ["Store", "open_store"]
