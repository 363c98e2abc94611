"""The bridge's local state: SQLite in the data directory (see :mod:`.store`)."""

from kkt_bridge.store.models import (
    ORIGIN_BACKOFFICE,
    ORIGIN_REGISTER,
    Event,
    ExchangeSettings,
    JobRun,
    Origin,
    OutboxDocument,
    Pairing,
    RegisterRecord,
    StoredGood,
    StoredGroup,
)
from kkt_bridge.store.paths import data_dir, db_path
from kkt_bridge.store.store import Store, open_store, reset_store

__all__ = [
    "ORIGIN_BACKOFFICE",
    "ORIGIN_REGISTER",
    "Event",
    "ExchangeSettings",
    "JobRun",
    "Origin",
    "OutboxDocument",
    "Pairing",
    "RegisterRecord",
    "Store",
    "StoredGood",
    "StoredGroup",
    "data_dir",
    "db_path",
    "open_store",
    "reset_store",
]
