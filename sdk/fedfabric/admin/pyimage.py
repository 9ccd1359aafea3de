"""The participant image: this Python runtime (interpreter, the environment with TensorFlow and
TenSEAL, the fedfabric SDK) and the shared libraries they load, as one locally built image.

There is no image registry here, so the image is made from files: a tar stream of exactly what
``python -m fedfabric.cli participant run`` needs, at the same absolute paths as on this host,
imported with ``docker import``. Its tag carries a hash of that file list, so a changed
environment makes a new image.

Example::

    tag = build_participant_image()      # fedfabric/participant:<hash>
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import threading
from pathlib import Path

from fedfabric.admin.errors import AdminError
from fedfabric.admin.fabric import source_dir

REPOSITORY = "fedfabric/participant"
# Not needed at run time: the standard library's tests and GUI, headers, static libraries.
_STDLIB_SKIPPED = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip"}
_SKIP_SUFFIXES = {".a", ".h", ".hpp"}
_SKIP_PREFIXES = ("_tkinter",)
_SKIP_DIRS = ("tensorflow/include",)  # 236 MB of C++ headers


def _roots() -> list[Path]:
    import fedfabric

    base, venv = Path(sys.base_prefix), Path(sys.prefix)
    roots = [base / "bin", base / "lib" / f"python{sys.version_info.major}."
             f"{sys.version_info.minor}", venv, Path(fedfabric.__file__).resolve().parent]
    return [r for r in roots if r.exists()]


def _wanted(path: Path, stdlib: Path) -> bool:
    if path.suffix in _SKIP_SUFFIXES or path.name.startswith(_SKIP_PREFIXES):
        return False
    if path.is_relative_to(stdlib):
        rel = path.relative_to(stdlib).parts
        if rel and (rel[0] in _STDLIB_SKIPPED or rel[0] == "site-packages"):
            return False  # the base interpreter's own packages: the environment has its own
    return not any(path.as_posix().endswith(d) for d in _SKIP_DIRS)


def runtime_files() -> list[Path]:
    """Every file and symlink of the runtime, and the shared libraries its ELF files load."""
    stdlib = Path(sys.base_prefix) / "lib" / f"python{sys.version_info.major}." \
        f"{sys.version_info.minor}"
    files: set[Path] = set()
    for root in _roots():
        for dirpath, dirnames, filenames in os.walk(root):
            d = Path(dirpath)
            dirnames[:] = [n for n in dirnames if _wanted(d / n, stdlib)]
            files.update(d / f for f in filenames if _wanted(d / f, stdlib))
    files.add(threshold_library())
    elves = [f for f in files if not f.is_symlink() and (".so" in f.name or f.parent.name ==
                                                          "bin") and _is_elf(f)]
    return sorted(files | _libraries(elves))


def threshold_library() -> Path:
    """The threshold-CKKS library the participants load (built on this host first, by the
    script fedfabric.he also runs; FEDFABRIC_THRESHOLDCKKS_LIB names a built one)."""
    override = os.environ.get("FEDFABRIC_THRESHOLDCKKS_LIB")
    if override:
        return Path(override).resolve()
    script = source_dir() / "native" / "build-thresholdckks.sh"
    result = subprocess.run(["bash", str(script)], capture_output=True, text=True)
    if result.returncode != 0:
        raise AdminError(f"building the threshold CKKS library failed:\n"
                         f"{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1]).resolve()


def _is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


def _libraries(elves: list[Path]) -> set[Path]:
    """System libraries the ELF files need (from ldd), with the symlinks that lead to them."""
    out: set[Path] = set()
    chunk = 64
    for i in range(0, len(elves), chunk):
        result = subprocess.run(["ldd", *map(str, elves[i:i + chunk])], capture_output=True,
                                text=True)
        for line in result.stdout.splitlines():
            parts = line.split()
            path = parts[2] if "=>" in parts and len(parts) > 2 else parts[0] if parts else ""
            if path.startswith("/") and Path(path).exists():
                lib = Path(path)
                out.add(lib)
                out.add(lib.resolve())
    loader = Path("/lib64/ld-linux-x86-64.so.2")
    if loader.exists():
        out |= {loader, loader.resolve()}
    return {p for p in out if not any(p.is_relative_to(r) for r in _roots())}


def image_tag(files: list[Path]) -> str:
    digest = hashlib.sha256(sys.version.encode())
    for f in files:
        st = f.lstat()
        digest.update(f"{f}\0{st.st_size}\0{int(st.st_mtime)}\n".encode())
    return f"{REPOSITORY}:{digest.hexdigest()[:16]}"


def _real(path: Path) -> Path:
    """The path through real directories (on a merged-/usr host, /lib is a link to usr/lib)."""
    return Path(os.path.realpath(path.parent)) / path.name


def _tar_stream(files: list[Path], out: object) -> None:
    with tarfile.open(fileobj=out, mode="w|") as tar:  # type: ignore[call-overload]
        for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            top = Path("/") / name
            if top.is_symlink():  # keep the host's layout, so ELF interpreters resolve
                tar.add(top, arcname=name, recursive=False)
        dirs: set[Path] = set()
        for f in sorted({_real(f) for f in files}):
            for parent in reversed(f.parents):
                if parent not in dirs and str(parent) != "/":
                    dirs.add(parent)
                    tar.add(parent, arcname=str(parent).lstrip("/"), recursive=False)
            tar.add(f, arcname=str(f).lstrip("/"), recursive=False)
        # /tmp is the container's HOME; it is there already when the runtime lives under it.
        if Path("/tmp") not in dirs:
            tmp = tarfile.TarInfo("tmp")
            tmp.type, tmp.mode = tarfile.DIRTYPE, 0o1777
            tar.addfile(tmp)


def build_participant_image() -> str:
    """The participant image for this runtime, imported once and reused; returns its tag."""
    from fedfabric.admin.docker import docker

    files = runtime_files()
    tag = image_tag(files)
    try:
        docker("image", "inspect", tag, timeout=30)
        return tag
    except AdminError:
        pass
    changes = [f"ENV PATH={Path(sys.prefix) / 'bin'}:/usr/bin:/bin", "ENV HOME=/tmp",
               f"ENV FEDFABRIC_THRESHOLDCKKS_LIB={threshold_library()}",
               "ENV TF_CPP_MIN_LOG_LEVEL=3", "ENV PYTHONUNBUFFERED=1", "WORKDIR /tmp",
               f'ENTRYPOINT ["{Path(sys.prefix) / "bin" / "python"}", "-m", "fedfabric.cli", '
               f'"participant", "run"]']
    command = ["docker", "import", *[a for c in changes for a in ("--change", c)], "-", tag]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdin is not None
    errors: list[BaseException] = []

    def feed() -> None:
        try:
            _tar_stream(files, proc.stdin)
        except BaseException as e:  # reported below
            errors.append(e)
        finally:
            proc.stdin.close()  # type: ignore[union-attr]

    writer = threading.Thread(target=feed)
    writer.start()
    assert proc.stderr is not None and proc.stdout is not None
    err = proc.stderr.read()  # docker writes little; it ends when the import does
    proc.stdout.read()
    writer.join()
    proc.wait()
    if proc.returncode != 0 or errors:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True)  # nothing half-made
        raise AdminError(f"importing {tag} failed: {err.decode()[-2000:] or errors[0]}")
    return tag
