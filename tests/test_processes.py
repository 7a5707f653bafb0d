"""stop_process: SIGTERM, a grace period, SIGKILL; a whole process group when asked."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from tinybench.processes import stop_process

# Ignores SIGTERM, starts a grandchild that ignores it too, prints the grandchild's pid.
STUBBORN = """
import signal, subprocess, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c",
    "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"])
print(child.pid, flush=True)
time.sleep(60)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purpose
        return stat.read().split()[2] != "Z"


def _stubborn(new_session: bool) -> tuple[subprocess.Popen, int]:
    process = subprocess.Popen(
        [sys.executable, "-c", STUBBORN], stdout=subprocess.PIPE, start_new_session=new_session
    )
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def test_a_group_that_ignores_sigterm_is_killed_after_the_grace_period_helpers_too() -> None:
    process, helper = _stubborn(new_session=True)
    begin = time.monotonic()
    stop_process(process, grace=0.5)
    assert process.returncode == -9 and time.monotonic() - begin >= 0.5
    deadline = time.monotonic() + 5
    while _alive(helper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(helper)


def test_grace_zero_kills_at_once_and_a_finished_group_is_no_error() -> None:
    process, _helper = _stubborn(new_session=True)
    stop_process(process, grace=0)
    assert process.returncode == -9
    stop_process(process, grace=0)  # leader and group already gone
    assert process.returncode == -9


def test_a_single_process_exits_on_sigterm_within_the_grace_period() -> None:
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    stop_process(process, grace=5.0, group=False)
    assert process.returncode == -15
    stop_process(process, group=False)  # already stopped: nothing to do
    assert process.returncode == -15
