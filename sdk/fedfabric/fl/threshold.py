"""Threshold CKKS in a task: keys made by the members themselves, updates packed with check
values (fedfabric.fl.encoding), and decryption by any t members together.

Keys. When it joins, each participant makes its secret share s_i locally (sealed at rest with
its organisation key; it never leaves the organisation), its public-key share under the task's
common reference string (derived from the creating transaction), and Shamir shares of s_i for
every participant (each wrapped to that participant's published organisation key). It stores
them in its own area as a key bundle and posts the bundle's hash with its join. Once the task
starts, every member combines the members' public-key shares (in member order: the same bytes
everywhere) into the collective public key and endorses its hash; a quorum opens round 1. Its
threshold secret is the sum of the Shamir shares the members sent it.

Updates. Values are scaled and every shard closes with a check value, the scaled sample count
(fedfabric.fl.encoding). After decryption every check must equal the round's total samples: a
decryption share that is wrong, stale or garbled makes them wrong, and the attempt is
discarded, never silently used. Shares and their combination go segment by segment, like the
aggregate they decrypt.

Decryption. t members post shares for a set of exactly t; the set of attempt a is derived from
the chain: the round's updaters first, then the other members, minus the members already found
bad (share missing at an attempt's deadline, unreadable, failing its hash, or of another
aggregate than the finalized one); among the rest,
each earlier attempt that failed its checks without a culprit moves on to the next combination.
Attempt a accepts shares until finalized_at + (a+1) * round_timeout. The members of attempt 0's
set (known at the close) post their shares of the aggregate they computed with their
endorsements, so a round whose quorum agrees decrypts without another block.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from fedfabric.fl.encoding import Encoding, unpack
from fedfabric.fl.rounds import Area, read_segment
from fedfabric.he import threshold as th
from fedfabric.keys import public_pem, unwrap, wrap
from fedfabric.ledger import AlreadyExists, Ledger
from fedfabric.ledger.schema import DecryptionShare, Round, Task
from fedfabric.store import MANIFEST_LIMIT, SEGMENT_LIMIT, Manifest, Store, StoreError

CHECK_TOLERANCE = 1e-3  # of the scaled sample count (at most 1): flooding noise is ~1e-6
MAX_ATTEMPTS = 64  # the chain's bound
KEY_BUNDLE = "threshold-key-bundle"
SHARE = "decryption-share"


class ThresholdKeyError(ValueError):
    """A key bundle or share another organisation published is missing or malformed."""


def crs(task: Task) -> bytes:
    """The common reference string: bound to the creating transaction and the terms."""
    return hashlib.sha256(f"fedfabric crs|{task.tx_id}|{task.terms_hash}".encode()).digest()


def points(task: Task) -> dict[str, int]:
    """Each participant's Shamir point: its place in the task's list, from 1."""
    return {p.msp_id: i + 1 for i, p in enumerate(task.participants)}


def _context(task: Task, sender: str, recipient: str) -> bytes:
    return f"fedfabric task {task.id} shamir {sender}->{recipient}".encode()


def _seal_context(task: Task) -> bytes:
    return f"fedfabric task {task.id} own secret".encode()


@dataclass(frozen=True)
class KeyBundle:
    writer: str
    public_share: str
    shamir: dict[str, str]  # recipient MSP id -> sha256 of the share wrapped to it

    @classmethod
    def read(cls, store: Store, task: Task, writer: str, digest: str) -> KeyBundle:
        try:
            data = json.loads(store.sibling(writer).get(digest, MANIFEST_LIMIT))
            bundle = cls(str(data["writer"]), str(data["public_share"]),
                         {str(k): str(v) for k, v in data["shamir"].items()})
        except (StoreError, ValueError, KeyError, TypeError, AttributeError) as e:
            raise ThresholdKeyError(f"{writer}'s key bundle {digest[:12]}…: {e}") from e
        if data.get("kind") != KEY_BUNDLE or data.get("task_id") != task.id or \
                bundle.writer != writer or data.get("params_id") != th.PARAMS_ID:
            raise ThresholdKeyError(f"{writer}'s key bundle is not its bundle for task {task.id}")
        return bundle


def make_key_bundle(task: Task, msp_id: str, key: X25519PrivateKey, ledger: Ledger,
                    store: Store, state: Path) -> str:
    """Make this member's secret and shares; store the bundle; returns its hash. The secret
    and the member's own Shamir share are sealed into the state directory."""
    secret, public_share = th.keygen(crs(task))
    pts = points(task)
    shares = th.shamir_shares(secret, list(pts.values()), task.threshold)
    wrapped = {}
    for msp, point in pts.items():
        recipient = ledger.tasks.org_key(msp).public_key if msp != msp_id else \
            public_pem(key.public_key())
        wrapped[msp] = store.put(wrap(shares[point], recipient, _context(task, msp_id, msp)))
    state.mkdir(parents=True, exist_ok=True)
    _write_private(state / "threshold-secret.sealed",
                   wrap(secret, public_pem(key.public_key()), _seal_context(task)))
    bundle = {"kind": KEY_BUNDLE, "task_id": task.id, "writer": msp_id,
              "params_id": th.PARAMS_ID, "public_share": store.put(public_share),
              "shamir": wrapped}
    return store.put(json.dumps(bundle, sort_keys=True).encode())


def _write_private(path: Path, data: bytes) -> None:
    import os

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def bundles(ledger: Ledger, store: Store, task: Task) -> dict[str, KeyBundle]:
    """The members' key bundles, checked against what they posted when they joined."""
    posted = {j.msp_id: j.key_share for j in ledger.tasks.joins(task.id)}
    out = {}
    for msp in task.members:
        digest = posted.get(msp)
        if not digest:
            raise ThresholdKeyError(f"{msp} posted no key bundle")
        out[msp] = KeyBundle.read(store, task, msp, digest)
    return out


def collective_key(store: Store, task: Task, members: dict[str, KeyBundle]) -> bytes:
    """The collective public key from the members' public-key shares, in member order."""
    shares = []
    for msp in task.members:
        try:
            shares.append(store.sibling(msp).get(members[msp].public_share, SEGMENT_LIMIT))
        except StoreError as e:
            raise ThresholdKeyError(f"{msp}'s public-key share: {e}") from e
    return th.combine_public_key(crs(task), shares)


def threshold_secret(store: Store, task: Task, msp_id: str, key: X25519PrivateKey,
                     members: dict[str, KeyBundle]) -> bytes:
    """This member's t-out-of-N secret: the sum of the Shamir shares the members sent it."""
    received = []
    for msp, bundle in members.items():
        try:
            blob = store.sibling(msp).get(bundle.shamir[msp_id], SEGMENT_LIMIT)
            received.append(unwrap(blob, key, _context(task, msp, msp_id)))
        except (StoreError, KeyError, ValueError) as e:
            raise ThresholdKeyError(f"the Shamir share {msp} sent {msp_id}: {e}") from e
    return th.threshold_secret(received)


@dataclass
class Plan:
    """Where the decryption of a round stands: the attempt under way and its set."""

    attempt: int
    active: list[str]
    bad: set[str] = field(default_factory=set)
    result: np.ndarray | None = None
    total: int = 0


def decryption_sets(task: Task, rnd: Round, bad: set[str]) -> list[list[str]]:
    """Every t-set still possible, in the order attempts try them."""
    included = [i.msp_id for i in rnd.included]
    candidates = [m for m in included + [m for m in task.members if m not in included]
                  if m not in bad]
    return [list(c) for c in itertools.combinations(candidates, task.threshold)]


def deadline(task: Task, rnd: Round, attempt: int) -> datetime.datetime | None:
    if task.round_timeout <= 0 or not rnd.finalized_at:
        return None
    began = datetime.datetime.fromisoformat(rnd.finalized_at.replace("Z", "+00:00"))
    return began + datetime.timedelta(seconds=(attempt + 1) * task.round_timeout)


def share_parts(store: Store, share: DecryptionShare, task: Task, rnd: Round, aggregate: str,
                segments: int) -> list[str]:
    """A posted share's parts (one segment blob per segment of the aggregate), checked: in
    the poster's area, for this round's aggregate (its manifest hash)."""
    data = json.loads(store.sibling(share.msp_id).get(share.share_hash, MANIFEST_LIMIT))
    parts = data.get("parts")
    if data.get("kind") != SHARE or data.get("task_id") != task.id or \
            data.get("round") != rnd.round or data.get("attempt") != share.attempt or \
            data.get("aggregate") != aggregate or not isinstance(parts, list) or \
            len(parts) != segments or not all(isinstance(p, str) for p in parts):
        raise ValueError(f"{share.msp_id}'s share is not its share of round {rnd.round}")
    return parts


def first_set(task: Task, rnd: Round) -> list[str]:
    """The set of attempt 0, known once the round is closed: its members post their shares
    with their endorsements."""
    return decryption_sets(task, rnd, set())[0]


def post_share(store: Store, task: Task, rnd: Round, attempt: int, active: list[str],
               msp_id: str, secret: bytes, aggregate: str, manifest: Manifest,
               areas: Sequence[Area]) -> str:
    """Compute this member's flooded share of the aggregate (the hash of its manifest, whose
    segments are read from the first of areas that has them) for the set, segment by segment;
    store it; returns its hash."""
    pts = points(task)
    parts = []
    for digest in manifest.segments:
        shares = th.decryption_share(secret, pts[msp_id], [pts[m] for m in active],
                                     read_segment(areas, digest), task.threshold)
        parts.append(store.put_segment(shares))
    return store.put(json.dumps({
        "kind": SHARE, "task_id": task.id, "round": rnd.round, "attempt": attempt,
        "aggregate": aggregate, "writer": msp_id, "parts": parts}, sort_keys=True).encode())


def combine(store: Store, task: Task, rnd: Round, shares: list[DecryptionShare], aggregate: str,
            manifest: Manifest, areas: Sequence[Area], encoding: Encoding,
            total_samples: int) -> tuple[np.ndarray | None, set[str]]:
    """(the aggregate decrypted and divided back by the scale, or None; the members whose
    share is bad), segment by segment. The checks must all equal the scaled total of
    samples."""
    parts, bad = {}, set()
    pts = points(task)
    for share in shares:
        try:
            parts[share.msp_id] = share_parts(store, share, task, rnd, aggregate,
                                              len(manifest.segments))
        except (StoreError, ValueError, KeyError, TypeError):
            bad.add(share.msp_id)
    if bad:
        return None, bad
    assert encoding.factor is not None
    result = np.empty(encoding.length, dtype=np.float64)
    for k, (start, end) in enumerate(encoding.segments()):
        shards = read_segment(areas, manifest.segments[k])
        received = {}
        for msp, hashes in parts.items():
            try:
                received[pts[msp]] = store.sibling(msp).get_segment(hashes[k])
            except StoreError:
                bad.add(msp)
        if bad:
            return None, bad
        try:
            vector = th.combine(received, shards, encoding.encrypted(end - start))
        except ValueError:
            return None, set()  # well-formed yet inconsistent: no culprit known
        payload, checks = unpack(vector, end - start)
        if not np.allclose(checks, total_samples * encoding.factor, atol=CHECK_TOLERANCE):
            return None, set()
        result[start:end] = payload
    result /= encoding.factor
    return result, set()


def decrypt_early(store: Store, task: Task, rnd: Round, aggregate: str,
                  shares: list[DecryptionShare], manifest: Manifest, areas: Sequence[Area],
                  length: int, samples: int) -> np.ndarray | None:
    """Attempt 0 of a closed round whose quorum endorsed `aggregate`, before it is finalized:
    the scaled sum divided back, once the first set's t shares of that aggregate are in (they
    come with the endorsements), or None. It is what decrypt_round gives if the round is
    finalized with that aggregate: the same shares, combined the same way; decrypting while the
    finalization commits saves a step. Nothing is revealed that those shares do not reveal."""
    active = first_set(task, rnd)
    posted = [s for s in shares if s.attempt == 0 and s.msp_id in active and
              s.aggregate_hash == aggregate]
    if len(posted) != task.threshold:
        return None
    result, _ = combine(store, task, rnd, posted, aggregate, manifest, areas,
                        Encoding.of(task, length), samples)
    return result


SHARE_MARGIN = 15.0  # seconds after an attempt's deadline before its shares are taken as final


def decrypt_round(ledger: Ledger, store: Store, task: Task, rnd: Round, msp_id: str,
                  secret: bytes, manifest: Manifest, areas: Sequence[Area], length: int,
                  samples: int, log: logging.Logger) -> np.ndarray | None:
    """Drive a finalized round's joint decryption, as one member: post its share when the
    current attempt's set holds it; combine once the set's t shares are in; move to another set
    when a share is missing at its deadline, unreadable, or the checks fail. manifest: the
    finalized aggregate's, whose segments are read from the first of areas that has them.
    Returns the sum of the scaled updates (divided back by the scale), or None while it waits.
    Every member derives the same attempts from the same chain and store, so all combine the
    same shares."""
    encoding = Encoding.of(task, length)
    shares = ledger.tasks.decryption_shares(task.id, rnd.round)
    bad: set[str] = set()
    unexplained = 0
    for attempt in range(MAX_ATTEMPTS):
        sets = decryption_sets(task, rnd, bad)
        if not sets:
            raise ValueError(f"round {rnd.round}: fewer than {task.threshold} members are left "
                             "to decrypt it")
        active = sets[unexplained % len(sets)]
        posted = [s for s in shares if s.attempt == attempt and s.msp_id in active]
        stale = {s.msp_id for s in posted if s.aggregate_hash != rnd.final_hash}
        if stale:  # posted with an endorsement of an aggregate the quorum did not finalize
            bad |= stale
            log.warning("task %s round %d: attempt %d: %s decrypted another aggregate than the "
                        "finalized one", task.id, rnd.round, attempt, ", ".join(sorted(stale)))
            continue
        if len(posted) == task.threshold:
            assert rnd.final_hash is not None
            result, culprits = combine(store, task, rnd, posted, rnd.final_hash, manifest, areas,
                                       encoding, samples)
            if result is not None:
                return result
            bad |= culprits
            unexplained += not culprits
            log.warning("task %s round %d: decryption attempt %d with %s failed its checks%s",
                        task.id, rnd.round, attempt, ", ".join(active),
                        f": bad share from {', '.join(sorted(culprits))}" if culprits else "")
            continue
        closes = deadline(task, rnd, attempt)
        if closes is not None and datetime.datetime.now(datetime.UTC) > closes + \
                datetime.timedelta(seconds=SHARE_MARGIN):
            bad |= set(active) - {s.msp_id for s in posted}
            continue
        if msp_id in active and msp_id not in {s.msp_id for s in posted}:
            assert rnd.final_hash is not None
            digest = post_share(store, task, rnd, attempt, active, msp_id, secret,
                                rnd.final_hash, manifest, areas)
            with contextlib.suppress(AlreadyExists):
                ledger.tasks.submit_decryption_share(task.id, rnd.round, attempt, digest)
                log.info("task %s round %d: posted a decryption share (attempt %d, with %s)",
                         task.id, rnd.round, attempt, ", ".join(active))
        return None
    raise ValueError(f"round {rnd.round}: no decryption after {MAX_ATTEMPTS} attempts")
