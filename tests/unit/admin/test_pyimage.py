"""The participant image's tar stream: every path once, whatever directory the runtime is in."""

from __future__ import annotations

import io
import tarfile
from collections import Counter
from pathlib import Path

from fedfabric.admin.pyimage import _tar_stream


def test_a_runtime_under_tmp_gives_each_path_once(tmp_path: Path) -> None:
    venv = tmp_path / "checkout" / ".venv" / "bin"
    venv.mkdir(parents=True)
    python = venv / "python"
    python.write_bytes(b"#!")
    library = tmp_path / "home" / ".cache" / "libthresholdckks.so"
    library.parent.mkdir(parents=True)
    library.write_bytes(b"\x7fELF")
    out = io.BytesIO()
    _tar_stream([python, library], out)
    with tarfile.open(fileobj=io.BytesIO(out.getvalue())) as tar:
        members = tar.getmembers()
    counts = Counter(m.name for m in members)
    assert [name for name, n in counts.items() if n > 1] == []  # docker import refuses those
    assert counts["tmp"] == 1 and next(m for m in members if m.name == "tmp").isdir()
    assert str(python).lstrip("/") in counts and str(library).lstrip("/") in counts
