"""Each use-case example runs to completion on the real network (one round, to keep it short)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("example", ["medical", "finance", "manufacturing"])
def test_example_runs_to_completion(network, example):
    result = subprocess.run(
        [sys.executable, f"{example}.py", "--dir", str(network.layout.root), "--rounds", "1"],
        cwd=EXAMPLES, capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    out = " ".join(result.stdout.split())
    assert "registered and deployed" in out
    assert "VERIFIED by Org2MSP" in out
    assert "decrypted intact, 1 access(es) on the audit log" in out
