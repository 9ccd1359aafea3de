"""ctypes binding to native/thresholdckks, a Go (Lattigo v6) library built with -buildmode=c-shared.

The C ABI has two functions: ``tckks_call(op, n, in, in_len, &out, &out_len, &err)`` takes n byte
strings and returns byte strings framed in one malloc'd buffer (see native/thresholdckks/capi.go),
and ``tckks_free``. Integers travel as 8-byte little-endian fields, integer lists as packed ones.

The library is found on first use: FEDFABRIC_THRESHOLDCKKS_LIB if set, else
native/build-thresholdckks.sh builds it (once per source version, about 25 s cold) into
FEDFABRIC_CACHE. ctypes releases the GIL during calls, and the Go side spreads shards over all
cores. Loading it does not touch TenSEAL or TensorFlow; do not fork (multiprocessing's "fork"
start method) after it is loaded: the Go runtime does not survive a fork.
"""

from __future__ import annotations

import ctypes
import os
import struct
import subprocess
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np


class LattigoError(RuntimeError):
    """An internal failure in the native library (not caused by the input)."""


_lock = threading.Lock()
_lib: ctypes.CDLL | None = None


def source_dir() -> Path:
    root = Path(os.environ.get("FEDFABRIC_SOURCE", Path(__file__).resolve().parents[3]))
    return root / "native"


def library_path() -> Path:
    """The built library (building it if its sources changed)."""
    override = os.environ.get("FEDFABRIC_THRESHOLDCKKS_LIB")
    if override:
        return Path(override)
    script = source_dir() / "build-thresholdckks.sh"
    if not script.is_file():
        raise LattigoError(f"no {script}: set FEDFABRIC_SOURCE to a fedfabric checkout "
                           "or FEDFABRIC_THRESHOLDCKKS_LIB to a built libthresholdckks.so")
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    if result.returncode != 0:
        raise LattigoError(f"building the threshold CKKS library failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def library() -> ctypes.CDLL:
    global _lib
    with _lock:
        if _lib is None:
            lib = ctypes.CDLL(str(library_path()))
            lib.tckks_call.argtypes = [
                ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p),
                ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p),
                ctypes.POINTER(ctypes.c_size_t), ctypes.POINTER(ctypes.c_void_p)]
            lib.tckks_call.restype = ctypes.c_int
            lib.tckks_free.argtypes = [ctypes.c_void_p]
            lib.tckks_free.restype = None
            _lib = lib
        return _lib


def call(op: str, *fields: bytes) -> list[bytes]:
    """Run one operation; bad input raises ValueError with the library's message."""
    lib = library()
    fields = tuple(f if isinstance(f, bytes) else bytes(f) for f in fields)
    n = len(fields)
    ptrs = (ctypes.c_char_p * n)(*fields)
    lens = (ctypes.c_size_t * n)(*(len(f) for f in fields))
    out, out_len, err = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_void_p()
    code = lib.tckks_call(op.encode(), n, ptrs, lens, ctypes.byref(out), ctypes.byref(out_len),
                          ctypes.byref(err))
    if code != 0:
        message = ctypes.string_at(err.value).decode(errors="replace") if err.value else "?"
        lib.tckks_free(err)
        if code == 1:
            raise ValueError(message)
        raise LattigoError(f"{op}: {message}")
    try:
        view = memoryview((ctypes.c_char * out_len.value).from_address(out.value or 0)).cast("B")
        (count,) = struct.unpack_from("<Q", view, 0)
        items, offset = [], 8
        for _ in range(count):
            (size,) = struct.unpack_from("<Q", view, offset)
            items.append(bytes(view[offset + 8:offset + 8 + size]))
            offset += 8 + size
        view.release()
        return items
    finally:
        lib.tckks_free(out)


def int_field(value: int) -> bytes:
    return struct.pack("<q", value)


def ints_field(values: Iterable[int]) -> bytes:
    return np.asarray(list(values), dtype="<i8").tobytes()
