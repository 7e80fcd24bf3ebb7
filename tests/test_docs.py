"""The tutorials in docs/ run as written and print what they promise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

TUTORIALS = sorted((REPO / "docs").glob("[0-9][0-9]_*.py"))


def test_there_are_tutorials():
    assert len(TUTORIALS) >= 4


@pytest.mark.slow
@pytest.mark.parametrize("script", TUTORIALS, ids=lambda p: p.stem)
def test_tutorial_runs(script: Path, tmp_path):
    proc = subprocess.run([sys.executable, str(script)], cwd=REPO, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    if script.stem.startswith("05"):  # batched equals one by one; more current, more spikes (up to block)
        diff = next(line for line in proc.stdout.splitlines() if line.startswith("largest difference"))
        assert float(diff.split(":")[1].split()[0]) < 1e-9, diff
        counts = [int(line.split("->")[1].split()[0]) for line in proc.stdout.splitlines() if line.startswith("f-I")]
        assert len(counts) == 16 and counts[0] == 0 and max(counts) >= 8
        sweep = [[int(c) for c in line.split(":")[1].split()] for line in proc.stdout.splitlines() if "sweep:" in line]
        assert len(sweep) == 3 and all(row == sorted(row) for row in sweep)  # more gnabar, more spikes
    if script.stem.startswith("04"):
        fitted = [line for line in proc.stdout.splitlines() if "fitted" in line]
        assert len(fitted) == 6
        for line in fitted:  # every fitted value within 1% of NEURON's
            value, true = (float(part.split()[-1]) for part in line.split(",")[-2:])
            assert abs(value / true - 1) < 0.01, line
    if script.stem.startswith("08"):  # the recipe recovers NEURON's six values; the report was written
        fitted = [line for line in proc.stdout.splitlines() if "fitted, NEURON's" in line]
        assert len(fitted) == 6
        for line in fitted:
            value, true = (float(part) for part in line.split(":")[-1].split(","))
            assert abs(value / true - 1) < 0.01, line
        assert "stage polish" in proc.stdout and "wrote tutorial-08-fit.png" in proc.stdout
    if script.stem.startswith("07"):  # the ring: every cell fires, each after the one before it
        lines = [line for line in proc.stdout.splitlines() if line.startswith("  cell[")]
        first = [float(line.split(":")[1].split(",")[0]) for line in lines]
        assert len(first) == 10 and all(b > a for a, b in zip(first, first[1:], strict=False))
        counts = [line for line in proc.stdout.splitlines() if line.startswith("pattern")]
        assert counts == ["pattern A: output spikes 3 (wanted 3)", "pattern B: output spikes 0 (wanted 0)"]
        learned = next(line for line in proc.stdout.splitlines() if line.startswith("learned"))
        assert learned.endswith("-> 0")  # the loss fell from 5 to 0
    if script.stem.startswith("06"):  # the port matches NEURON; ten conductances fitted within 1% of NEURON's
        matches = [line for line in proc.stdout.splitlines() if "max |V - V_NEURON|" in line]
        assert len(matches) == 4
        for line in matches:
            assert float(line.split("=")[1].split()[0]) <= 1e-6, line
            spikes, neuron = line.split("spikes")[1].replace("(NEURON", "").replace(")", "").split()
            assert spikes == neuron, line
        fitted = [line for line in proc.stdout.splitlines() if "fitted" in line]
        assert len(fitted) == 10
        for line in fitted:
            value, true = (float(part.split()[0]) for part in line.split(":")[-1].split(",")[-2:])
            assert abs(value / true - 1) < 0.01, line
