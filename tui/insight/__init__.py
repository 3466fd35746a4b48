"""Insight into queries: fingerprints (a query's shape and a stable id for it) and operation
classes (read, write, delete, admin, health). Pure: pygments, no UI."""

from tui.insight.fingerprints import (
    CACHE_SIZE,
    MAX_SHAPE_CHARS,
    Fingerprint,
    cache_clear,
    cache_info,
    fingerprint,
    record_fingerprint,
    shape_of,
)
from tui.insight.operations import (
    ADMIN,
    BY_QUERY,
    DELETE,
    HEALTH,
    OPERATIONS,
    READ,
    UNKNOWN,
    WRITE,
    operation,
    operation_of,
    path_operation,
)

__all__ = [
    "ADMIN",
    "BY_QUERY",
    "CACHE_SIZE",
    "DELETE",
    "HEALTH",
    "MAX_SHAPE_CHARS",
    "OPERATIONS",
    "READ",
    "UNKNOWN",
    "WRITE",
    "Fingerprint",
    "cache_clear",
    "cache_info",
    "fingerprint",
    "operation",
    "operation_of",
    "path_operation",
    "record_fingerprint",
    "shape_of",
]
