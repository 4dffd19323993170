"""The code style the project keeps (ruff: E, W, F, I, B, C4, UP; see pyproject.toml), checked
with the tests so that CI fails on a lint error as on a failing test."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_ruff_is_clean():
    ruff = Path(sys.executable).with_name("ruff")
    exe = str(ruff) if ruff.exists() else shutil.which("ruff")
    assert exe, "ruff is not installed (pip install -e '.[dev]')"
    r = subprocess.run([exe, "check", "tuilabel", "tests", "scripts"], cwd=REPO,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
