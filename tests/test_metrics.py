from __future__ import annotations

import urllib.request
from pathlib import Path

from kkt_bridge.metrics import Metrics


def test_render_prometheus_text() -> None:
    m = Metrics()
    m.set("kkt_bridge_documents_unsent", 3, register="0001")
    m.inc("kkt_bridge_link_errors_total", register="0001")
    m.inc("kkt_bridge_link_errors_total", register="0001")
    text = m.render()
    assert "# TYPE kkt_bridge_documents_unsent gauge" in text
    assert 'kkt_bridge_documents_unsent{register="0001"} 3' in text
    assert 'kkt_bridge_link_errors_total{register="0001"} 2' in text
    assert m.get("kkt_bridge_link_errors_total", register="0001") == 2


def test_label_values_are_escaped() -> None:
    m = Metrics()
    m.set("x", 1, shop='a"b\\c')
    assert 'x{shop="a\\"b\\\\c"} 1' in m.render()


def test_textfile_is_replaced_atomically(tmp_path: Path) -> None:
    m = Metrics()
    m.set("kkt_bridge_documents_unsent", 1)
    target = tmp_path / "kkt.prom"
    m.write_textfile(target)
    m.set("kkt_bridge_documents_unsent", 0)
    m.write_textfile(target)
    assert "kkt_bridge_documents_unsent 0" in target.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["kkt.prom"]


def test_http_endpoint() -> None:
    m = Metrics()
    m.set("kkt_bridge_documents_unsent", 7)
    server = m.serve(port=0)
    try:
        host, port = server.server_address[:2]
        with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as resp:
            assert b"kkt_bridge_documents_unsent 7" in resp.read()
    finally:
        server.shutdown()
        server.server_close()
