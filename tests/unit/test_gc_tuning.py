"""The worker processes' collector settings (ledger.workers.gc_tuning)."""

from __future__ import annotations

import json
import subprocess
import sys

PROBE = """
import gc, json
from ledger.workers.gc_tuning import YOUNG_THRESHOLD, tune_for_throughput
before = gc.get_freeze_count()
tune_for_throughput()
print(json.dumps({"before": before, "frozen": gc.get_freeze_count(),
                  "threshold": gc.get_threshold(), "young": YOUNG_THRESHOLD}))
"""


def test_tuning_freezes_start_up_objects_and_raises_the_young_threshold() -> None:
    # In a child process: the setting is process-wide and must not leak into the test run.
    out = subprocess.run([sys.executable, "-c", PROBE], check=True, capture_output=True, text=True)
    seen = json.loads(out.stdout)
    assert seen["before"] == 0
    assert seen["frozen"] > 1_000  # the imported modules' objects
    assert seen["threshold"] == [seen["young"], 20, 20]
    assert seen["young"] > 700  # above CPython's default


def test_the_worker_commands_tune_the_collector() -> None:
    from pathlib import Path

    import ledger

    root = Path(ledger.__file__).parent
    for command in ("projections/commands.py", "webhooks/commands.py"):
        assert "tune_for_throughput()" in (root / command).read_text()
    # A rebuild ends: it may let young objects pile up longer (one collection per load).
    assert "tune_for_throughput(REBUILD_YOUNG_THRESHOLD)" in (
        root / "projections/commands.py").read_text()
