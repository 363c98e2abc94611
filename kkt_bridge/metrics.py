"""Prometheus metrics for fleet monitoring, kept by prometheus_client.

The daemon keeps a :class:`Metrics` (one prometheus_client registry of its own) and serves
it on the local server's ``/metrics``, writes it to a textfile for node_exporter's textfile
collector, or both. The backlog figures (unsent documents, outbox) are not copies: they are
computed at scrape time by :mod:`kkt_bridge.bridge.figures`, the same functions the page and
``kkt-bridge status`` use, so every window shows the same number.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import write_to_textfile
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from kkt_bridge.store import Store

UNSENT = "kkt_bridge_documents_unsent"
OUTBOX = "kkt_bridge_outbox_documents"
OFD_UNSENT = "kkt_bridge_ofd_unsent"
LAST_SUCCESS = "kkt_bridge_last_success_timestamp_seconds"
JOB_FAILURES = "kkt_bridge_job_failures_total"
LINK_ERRORS = "kkt_bridge_link_errors_total"
EXPORTED = "kkt_bridge_documents_exported_total"
PRESENT = "kkt_bridge_register_present"
HOTPLUG_EVENTS = "kkt_bridge_hotplug_events_total"
PAIRED = "kkt_bridge_registers_paired"

_HELP = {
    UNSENT: "Fiscal documents read from the ФН but not yet acknowledged by the back office.",
    OFD_UNSENT: "Documents the ФН has not yet delivered to the OFD.",
    LAST_SUCCESS: "Unix time of the last successful run of a sync job.",
    JOB_FAILURES: "Failed sync job runs.",
    LINK_ERRORS: "Errors on the link to a register.",
    EXPORTED: "Fiscal documents acknowledged by the back office.",
    OUTBOX: "Documents read from the ФН and kept in the outbox until the back office "
            "acknowledges them.",
    PRESENT: "1 while the register's port is plugged in (hot-plug), 0 while it is unplugged.",
    HOTPLUG_EVENTS: "Registers plugged in (action=added) or unplugged (action=removed).",
    PAIRED: "Registers paired with a back office.",
}


class _StoreCollector(Collector):
    """The backlog of every paired register, read from the store at scrape time."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from kkt_bridge.bridge import figures

        unsent = GaugeMetricFamily(UNSENT, _HELP[UNSENT], labels=["register"])
        outbox = GaugeMetricFamily(OUTBOX, _HELP[OUTBOX], labels=["register"])
        try:
            keys = figures.paired_registers(self.store)
            for key in keys:
                record = self.store.get_register(key)
                if record is None or not record.fn_number:
                    continue
                backlog = figures.register_backlog(self.store, record)
                unsent.add_metric([key], backlog.unsent)
                outbox.add_metric([key], backlog.outbox)
        except sqlite3.ProgrammingError:  # the store was closed: the daemon has stopped
            return
        yield unsent
        yield outbox
        yield GaugeMetricFamily(PAIRED, _HELP[PAIRED], value=len(keys))


class Metrics:
    """A private prometheus_client registry with the bridge's metrics, created on first use
    with the label names of that use."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._families: dict[str, Any] = {}

    def _family(self, name: str, kind: type[Gauge] | type[Counter],
                labels: tuple[str, ...]) -> Any:
        with self._lock:
            family = self._families.get(name)
            if family is None:
                family = kind(name, _HELP.get(name, name), labelnames=labels,
                              registry=self.registry)
                self._families[name] = family
            return family

    def set(self, name: str, value: float, **labels: str) -> None:
        family = self._family(name, Gauge, tuple(sorted(labels)))
        (family.labels(**labels) if labels else family).set(value)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        family = self._family(name, Counter, tuple(sorted(labels)))
        (family.labels(**labels) if labels else family).inc(amount)

    def get(self, name: str, **labels: str) -> float | None:
        return self.registry.get_sample_value(name, labels)

    def watch_store(self, store: Store) -> None:
        """Publish the backlog of ``store``'s paired registers (once per registry)."""
        with self._lock:
            if "store" in self._families:
                return
            self._families["store"] = _StoreCollector(store)
        self.registry.register(self._families["store"])

    def render(self) -> str:
        return generate_latest(self.registry).decode()

    def write_textfile(self, path: Path) -> None:
        """Replace ``path`` atomically, so a scrape never sees half a file."""
        path.parent.mkdir(parents=True, exist_ok=True)
        write_to_textfile(str(path), self.registry)
        os.chmod(path, 0o644)  # node_exporter runs as another user; metrics hold no secrets

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        """Serve ``/metrics`` on a port of its own (``run --metrics-port``), in a thread."""
        metrics = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != "/metrics":
                    self.send_error(404)
                    return
                body = metrics.render().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, daemon=True, name="metrics").start()
        return server
