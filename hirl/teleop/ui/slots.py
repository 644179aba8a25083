"""The session server's connection places: at most `size` connections served at once, and when all are taken the
one that has waited longest for a request's headers (slow, half-open or idle keep-alive) gives its place to a new
connection, so one local process holding slow connections cannot lock a real client out (all clients are on
loopback: a per-address cap could not tell them apart). Only when every connection has a request under way is a
newcomer refused (503).

    slots = ConnectionSlots(64)
    admitted, victim = slots.admit(sock)   # accept thread: victim = a socket to shut down (its place was taken) or None
    slots.waiting(sock)                    # handler, before reading a request: False when evicted (close it)
    slots.received(sock)                   # handler, request line and headers in: False when evicted (do not act on it)
    slots.ended(sock)                      # handler thread done
"""
from __future__ import annotations

import threading
import time
from typing import Any


class ConnectionSlots:
    """Thread-safe places for connections (any hashable socket objects); counters for tests and probes."""

    def __init__(self, size: int) -> None:
        self.size = size  # connections served at once
        self.active = 0  # connections being served now (evicted ones no longer count)
        self.refused = 0  # newcomers refused because every connection had a request under way
        self.evicted = 0  # connections closed to make room for a newer one
        self._waiting: dict[Any, float] = {}  # connections waiting for a request's line and headers -> since when
        self._evicting: set[Any] = set()  # evicted connections whose handler has not ended yet
        self._lock = threading.Lock()

    @property
    def waiting_count(self) -> int:
        """Connections now waiting for a request's headers (the ones a newcomer may evict)."""
        with self._lock:
            return len(self._waiting)

    def admit(self, conn: Any) -> tuple[bool, Any]:
        """(whether conn gets a place, the connection evicted to make room or None)."""
        victim = None
        with self._lock:
            if self.active >= self.size and self._waiting:
                victim = min(self._waiting, key=self._waiting.__getitem__)
                del self._waiting[victim]
                self._evicting.add(victim)
                self.active -= 1
                self.evicted += 1
            if self.active >= self.size:
                self.refused += 1
                return False, victim
            self.active += 1
            self._waiting[conn] = time.monotonic()
            return True, victim

    def waiting(self, conn: Any) -> bool:
        """conn's handler starts reading a request: evictable until received(). False when already evicted."""
        with self._lock:
            if conn in self._evicting:
                return False
            self._waiting[conn] = time.monotonic()
            return True

    def received(self, conn: Any) -> bool:
        """conn's request line and headers are in: no longer evictable. False when it was evicted first."""
        with self._lock:
            self._waiting.pop(conn, None)
            return conn not in self._evicting

    def ended(self, conn: Any) -> None:
        """conn's handler is done: its place is free (an evicted one's was freed when it was evicted)."""
        with self._lock:
            self._waiting.pop(conn, None)
            if conn in self._evicting:
                self._evicting.discard(conn)
            else:
                self.active -= 1
