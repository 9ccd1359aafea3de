"""Homomorphic encryption of model updates: threshold CKKS (Lattigo, by default: no single
organisation can decrypt), single-key CKKS (TenSEAL) and Paillier as explicit choices.

Import order: TenSEAL's serialize() crashes a process that imported TensorFlow first. This
package loads TenSEAL as soon as it is imported (so TensorFlow may come later); if TensorFlow
is already loaded, CKKS runs in a worker process that never imports it.
"""

from fedfabric.he.schemes import CKKS, Additive, Paillier, Scheme, backend, scheme_for
from fedfabric.he.sealing import seal, unseal
from fedfabric.he.threshold import ThresholdCKKS

backend()  # choose now: load TenSEAL before anything else can import TensorFlow

__all__ = ["CKKS", "Additive", "Paillier", "Scheme", "ThresholdCKKS", "backend", "scheme_for",
           "seal", "unseal"]
