"""Prometheus-style metrics for fleet monitoring, with no extra dependency.

The daemon keeps a :class:`Metrics` registry and either writes it to a textfile for
node_exporter's textfile collector (atomically, so a scrape never sees half a file) or
serves it on ``/metrics``. Names follow Prometheus conventions.
"""

from __future__ import annotations

import os
import tempfile
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

UNSENT = "kkt_bridge_documents_unsent"
OUTBOX = "kkt_bridge_outbox_documents"
OFD_UNSENT = "kkt_bridge_ofd_unsent"
LAST_SUCCESS = "kkt_bridge_last_success_timestamp_seconds"
JOB_FAILURES = "kkt_bridge_job_failures_total"
LINK_ERRORS = "kkt_bridge_link_errors_total"
EXPORTED = "kkt_bridge_documents_exported_total"
PRESENT = "kkt_bridge_register_present"
HOTPLUG_EVENTS = "kkt_bridge_hotplug_events_total"

_HELP = {
    UNSENT: ("gauge", "Fiscal documents read from the ФН but not yet acknowledged by the "
                      "back office."),
    OFD_UNSENT: ("gauge", "Documents the ФН has not yet delivered to the OFD."),
    LAST_SUCCESS: ("gauge", "Unix time of the last successful run of a sync job."),
    JOB_FAILURES: ("counter", "Failed sync job runs."),
    LINK_ERRORS: ("counter", "Errors on the link to a register."),
    EXPORTED: ("counter", "Fiscal documents acknowledged by the back office."),
    OUTBOX: ("gauge", "Documents read from the ФН and kept in the outbox until the back "
                      "office acknowledges them."),
    PRESENT: ("gauge", "1 while the register's port is plugged in (hot-plug), 0 while it is "
                       "unplugged."),
    HOTPLUG_EVENTS: ("counter", "Registers plugged in (action=added) or unplugged "
                                "(action=removed)."),
}


def _escape(value: str) -> str:
    # the exposition format's escapes inside a label value
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Mapping[str, str]) -> str:
    if not labels:
        return ""
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items())) + "}"


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}

    def set(self, name: str, value: float, **labels: str) -> None:
        with self._lock:
            self._values.setdefault(name, {})[tuple(sorted(labels.items()))] = value

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values.setdefault(name, {})
            series[key] = series.get(key, 0.0) + amount

    def get(self, name: str, **labels: str) -> float | None:
        with self._lock:
            return self._values.get(name, {}).get(tuple(sorted(labels.items())))

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name in sorted(self._values):
                kind, text = _HELP.get(name, ("gauge", name))
                lines.append(f"# HELP {name} {text}")
                lines.append(f"# TYPE {name} {kind}")
                for key, value in sorted(self._values[name].items()):
                    number = repr(float(value)) if value != int(value) else str(int(value))
                    lines.append(f"{name}{_labels(dict(key))} {number}")
        return "\n".join(lines) + "\n"

    def write_textfile(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".metrics-", suffix=".prom")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(self.render())
        os.chmod(tmp, 0o644)  # node_exporter runs as another user; metrics hold no secrets
        os.replace(tmp, path)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
        """Serve ``/metrics`` in a daemon thread; returns the server (``server_address``)."""
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
