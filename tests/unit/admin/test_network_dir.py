"""A new network goes only where it overwrites nothing: an empty directory, or one holding only
the default local blob store (<network>/blobs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedfabric.admin import NativeNetwork, Topology
from fedfabric.admin.errors import AdminError


def test_a_directory_holding_other_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    root = tmp_path / "network"
    root.mkdir()
    (root / "notes.txt").write_text("mine")
    with pytest.raises(AdminError, match=f"{root} is not empty and holds no network"):
        NativeNetwork(root).up(Topology(base_port=20500))
    assert [p.name for p in root.iterdir()] == ["notes.txt"]
    assert (root / "notes.txt").read_text() == "mine"


def test_a_file_named_blobs_is_not_a_blob_store(tmp_path: Path) -> None:
    root = tmp_path / "network"
    root.mkdir()
    (root / "blobs").write_text("not a directory")
    with pytest.raises(AdminError, match="is not empty and holds no network"):
        NativeNetwork(root).up(Topology(base_port=20500))
