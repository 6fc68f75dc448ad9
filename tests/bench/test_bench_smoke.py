"""The bench harness must not rot: run its --quick path on a tiny dataset, end to end."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_bench_reports_every_figure_on_a_tiny_dataset(tmp_path):
    out = tmp_path / "results.json"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--backend", "sqlite", "--members", "30", "--groups", "3",
         "--threads", "8", "--comments", "300", "--polls", "2", "--duration", "0.3", "--concurrency", "1,4",
         "--mail", "20", "--mail-clients", "2", "--delivery", "3", "--digest-members", "20,60", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["machine"]["cores"] >= 1
    sqlite = results["backends"]["sqlite"]
    assert "error" not in sqlite, sqlite.get("error")
    assert sqlite["seed"]["rows"]["comments"] == 300
    # Every section either measured or said why not; the table shows the same.
    for section in ("queries", "memory", "weight", "pages", "mail", "delivery", "digests"):
        part = sqlite[section]
        assert part.get("available") or part.get("why"), section
    assert sqlite["memory"]["available"] and sqlite["memory"]["total_mb"] > 0
    assert sqlite["pages"]["by_concurrency"]["1"]["baseline"]["requests"] > 0
    delivery = sqlite["delivery"]  # every member's copy of every reply reached the counting relay
    assert delivery["available"] and delivery["complete"] and delivery["copies"] == 3 * 39, delivery
    assert results["targets"] and "target" in proc.stdout
    assert "peers" not in results  # only --peers installs and runs FlaskBB and Mailman
