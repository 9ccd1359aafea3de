"""Where a test network listens: its own range, or a free one when another run holds it.

The default ranges (22000-31900) lie below Linux's ephemeral range (32768-60999), from which
every outgoing connection takes its local port: a range there can be taken by some connection
between the check and the network's start, as a CI run found.
"""

from __future__ import annotations

import os

from fedfabric.admin.ports import in_use

STEP = 13000  # 27000 -> 40000 -> 53000: clear of the other suites' default ranges


def base_port(variable: str, default: int, span: int = 700) -> int:
    """$variable when set (used as given: a clash then fails with the port and its holder).
    Otherwise the first of default, default+STEP, ... whose `span` ports are all free, so that
    a second run on the same machine (another checkout, CI beside a developer) does not clash;
    default when none is, and the network's own port check names the holder."""
    if os.environ.get(variable):
        return int(os.environ[variable])
    candidate = default
    while candidate + span < 65000:
        if not any(in_use(port) for port in range(candidate, candidate + span)):
            return candidate
        candidate += STEP
    return default
