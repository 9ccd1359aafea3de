"""A process that runs fedfabric.he.ckks calls sent over stdin/stdout (pickled).

Used when TensorFlow was imported before TenSEAL: in such a process TenSEAL's serialize()
crashes, so CKKS work moves here, where TensorFlow is never imported.
"""

from __future__ import annotations

import pickle
import sys
import traceback


def main() -> None:
    from fedfabric.he import ckks  # tenseal first, and only tenseal

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            name, args = pickle.load(stdin)
        except EOFError:
            return
        try:
            reply = (True, getattr(ckks, name)(*args))
        except Exception as e:  # sent back and raised in the caller
            reply = (False, f"{type(e).__name__}: {e}\n{traceback.format_exc(limit=3)}")
        pickle.dump(reply, stdout, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.flush()


if __name__ == "__main__":
    main()
