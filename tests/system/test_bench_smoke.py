"""`make bench` keeps working: a quick run of every benchmark writes one table with every part's figures."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PARTS = ("1 engine", "2 HTTP", "3 lists", "4 scheduler", "5 storage", "6 memory")


def test_a_quick_bench_run_writes_a_markdown_table_with_figures_from_every_part(tmp_path):
    output = tmp_path / "results.md"
    command = [sys.executable, str(ROOT / "bench" / "run_all.py"), "--quick", "--output", str(output)]
    store = "SQLite"
    if os.environ.get("TSUNAGU_TEST_DATABASE_URL"):
        command += ["--database-url", os.environ["TSUNAGU_TEST_DATABASE_URL"]]
        store = "PostgreSQL"

    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)

    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    table = output.read_text(encoding="utf-8")
    assert re.search(r"Machine: \d+ cores .*Python 3\.\d+.*SQLite 3\.\d+", table), table[:600]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert {row[0].lstrip("| ") for row in rows} == set(PARTS)
    assert all(row[2].strip() not in ("", "-") for row in rows), table
    assert "gave no figures" not in table
    figures = {row[1] for row in rows}
    assert any(figure.startswith(f"{store}: main path") for figure in figures)
    assert any(figure.startswith(f"{store}: core case") for figure in figures)
    assert any(figure.startswith("inbox: p50") for figure in figures)
    assert any(figure.startswith("task count: p50") for figure in figures)
    assert any(figure.startswith("history rows at") for figure in figures)
    assert any(re.match(r"pass firing [\d,]+ due timers at [\d,]+ → [\d,]+ waiting cases", f) for f in figures)
    assert any(figure.startswith("process definitions") for figure in figures)
    assert any(figure.startswith("web worker RSS") for figure in figures)
