import contextlib
import os
import signal
import sys
import time
from pathlib import Path

from fedfabric.admin import process
from fedfabric.admin.ports import in_use

SLEEPER = [sys.executable, "-c", "import time; time.sleep(300)"]


def _env():
    return {"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(sys.path)}


def test_start_records_pid_and_stop_ends_the_process(tmp_path: Path):
    pid_file = tmp_path / "run" / "n.pid"
    pid = process.start(SLEEPER, _env(), tmp_path / "n.log", pid_file, tmp_path)
    assert process.running_pid(pid_file) == pid
    assert process.stop(pid_file)
    assert process.running_pid(pid_file) is None
    assert not pid_file.exists()
    assert not process.stop(pid_file)  # nothing left to stop


def test_a_reused_pid_is_not_ours(tmp_path: Path):
    pid_file = tmp_path / "n.pid"
    pid_file.write_text(f'{{"pid": {os.getpid()}, "start": 1, "cmd": "x"}}')
    assert process.running_pid(pid_file) is None  # same pid, other start time: not signalled
    assert not process.stop(pid_file)


def _wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def test_supervisor_restarts_a_child_that_dies_and_stops_it_on_sigterm(tmp_path: Path):
    child_pid_file = tmp_path / "child.pid"
    child = (f"import os, time; open({str(child_pid_file)!r}, 'a').write(str(os.getpid()) + ' ');"
             " time.sleep(300)")
    pid_file = tmp_path / "sup.pid"
    cmd = [sys.executable, "-m", "fedfabric.admin.supervise", "--", sys.executable, "-c", child]
    process.start(cmd, _env(), tmp_path / "sup.log", pid_file, tmp_path)

    def children():
        return child_pid_file.read_text().split() if child_pid_file.exists() else []

    _wait_for(lambda: len(children()) == 1)
    os.kill(int(children()[0]), signal.SIGKILL)
    _wait_for(lambda: len(children()) == 2)  # restarted after the crash
    second = int(children()[1])
    assert process.stop(pid_file)
    _wait_for(lambda: not Path(f"/proc/{second}").exists() or
              Path(f"/proc/{second}/stat").read_text().split(")")[1].split()[0] == "Z")
    assert "restarting" in (tmp_path / "sup.log").read_text()


LEADER_EXITS_FIRST = """
import ctypes, os, socket, sys, threading
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen()
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
def hold():
    open(sys.argv[2]).read()  # a FIFO: returns when the test writes and closes it
    os._exit(0)
threading.Thread(target=hold).start()
ctypes.CDLL(None).pthread_exit(None)  # the main thread goes first, as in a killed Go node
"""


def test_a_process_whose_threads_are_still_exiting_has_not_exited(tmp_path: Path):
    port_file, release = tmp_path / "port", tmp_path / "release"
    os.mkfifo(release)
    pid_file = tmp_path / "n.pid"
    pid = process.start([sys.executable, "-c", LEADER_EXITS_FIRST, str(port_file),
                         str(release)], _env(), tmp_path / "n.log", pid_file, tmp_path)
    _wait_for(lambda: port_file.exists() and port_file.read_text() != "")
    port = int(port_file.read_text())
    state = Path(f"/proc/{pid}/stat")
    _wait_for(lambda: state.read_text().rsplit(")", 1)[1].split()[0] == "Z")
    assert process.running_pid(pid_file) == pid  # a zombie leader, its socket still open
    assert in_use(port)
    release.write_text("go")  # opens the FIFO for writing: the holding thread goes on
    _wait_for(lambda: process.running_pid(pid_file) is None)
    assert not in_use(port)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
