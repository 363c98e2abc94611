"""The chaos run of ``tools/chaos.py``, short: a few receipts sold by pyshtrih, a damaged
line, a back office answering 5xx and 429, the daemon SIGKILLed mid-export; the back office ends
with every document exactly once and byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from kkt_bridge.testing.chaos import run_chaos

pytest.importorskip("pyshtrih")
pytestmark = pytest.mark.slow


def test_a_short_chaos_run_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # 60 receipts: more than one export batch (50), so a kill can land between batches
    result = run_chaos(tmp_path, documents=60, line_faults="corrupt=0.002",
                       backoffice_faults="500:first=1,429:every=3:retry_after=0",
                       kill_every=(20.0, 40.0), kill_on_progress=True, max_kills=2,
                       time_limit=240, receipts_interval=5)
    summary = result.summary()
    assert result.ok, summary
    assert (result.lost, result.duplicated, result.altered) == ([], [], []), summary
    assert result.documents == 62 and result.stored == 62  # registration, shift, receipts
    assert result.kills >= 1, summary  # killed with part of the backlog exported
    assert result.line_faults.get("corrupted") and result.backoffice_faults >= 1, summary
