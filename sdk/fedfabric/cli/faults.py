"""Expected faults as one clear line: a node that does not answer, an ordering service that
lost its Raft majority, a store that cannot be written. No tracebacks for these, anywhere in the
CLI: `main` catches them, and commands that catch them themselves use `explain`."""

from __future__ import annotations

import re
from pathlib import Path

UNREACHABLE = re.compile(r"UNAVAILABLE|failed to connect|Connection refused|Stream removed|"
                         r"DEADLINE_EXCEEDED|Socket closed|no orderers could", re.I)
HINT = "run `fedfabric network status` to see which nodes are down; `fedfabric network up` " \
    "restarts stopped nodes"


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _down(network_dir: Path | None) -> tuple[list[str], int, list[str]]:
    """(orderers down, orderers in all, other nodes down) of a local network, if there is one."""
    if network_dir is None:
        return [], 0, []
    try:
        from fedfabric.admin.docker import open_network

        net = open_network(network_dir)
        if not net.exists:
            return [], 0, []
        nodes = net.status()
    except Exception:  # a status we cannot read says nothing more
        return [], 0, []
    orderers = [n for n in nodes if n.kind == "orderer"]
    return ([n.name for n in orderers if not n.healthy], len(orderers),
            [n.name for n in nodes if n.kind != "orderer" and not n.healthy])


def explain(error: BaseException, network_dir: Path | None = None) -> str:
    """One line saying what failed and what to do about it."""
    text = str(error)
    if not UNREACHABLE.search(text):
        return _first_line(error)
    down, total, others = _down(network_dir)
    if "no orderers could" in text or (down and total and len(down) * 2 >= total):
        majority = f"{len(down)} of {total} orderers are down ({', '.join(down)}), so Raft " \
            "has lost its majority" if down else "the ordering service did not take it " \
            "(Raft needs a majority of the orderers)"
        return f"the transaction was not ordered: {majority}; {HINT}"
    if others:
        return f"a node did not answer ({', '.join(others)} down): {_first_line(error)}; {HINT}"
    return f"a node did not answer: {_first_line(error)}; {HINT}"
