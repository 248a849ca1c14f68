"""The core's size limits hold: scripts/structure_figures.py --check (classes, functions, package cycles)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "structure_figures.py"


def test_structure_limits_hold() -> None:
    done = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "package import cycles: 0" in done.stdout
