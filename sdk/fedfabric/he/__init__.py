"""Homomorphic encryption of model updates: CKKS (TenSEAL) by default, Paillier as an option.

Import order: TenSEAL's serialize() crashes a process that imported TensorFlow first. This
package loads TenSEAL as soon as it is imported (so TensorFlow may come later); if TensorFlow
is already loaded, CKKS runs in a worker process that never imports it.
"""

from fedfabric.he.schemes import CKKS, Paillier, Scheme, backend, scheme_for
from fedfabric.he.sealing import seal, unseal

backend()  # choose now: load TenSEAL before anything else can import TensorFlow

__all__ = ["CKKS", "Paillier", "Scheme", "backend", "scheme_for", "seal", "unseal"]
