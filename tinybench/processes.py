"""Stopping the external processes tinybench starts: emulators, bridges and arduino-cli.

One rule for all of them: SIGTERM, a grace period, then SIGKILL. A process started with
``start_new_session=True`` leads a process group of its own, and the signals go to that whole
group, so the compilers, uploaders or helpers it started stop with it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess

__all__ = ["stop_process"]

_LAST_WAIT = 5.0  # seconds to wait for the process to be reaped after SIGKILL


def stop_process(process: subprocess.Popen, grace: float = 5.0, *, group: bool = True) -> None:
    """Stop ``process``: SIGTERM, up to ``grace`` seconds to exit, then SIGKILL.

    Args:
        process: The process to stop.
        grace: Seconds between SIGTERM and SIGKILL; 0 sends SIGKILL at once.
        group: Signal the process group ``process`` leads (it was started with
            ``start_new_session=True``). The group gets SIGKILL even when its leader has
            already exited, so the helpers it left behind stop too. Without ``group``, only
            ``process`` is signalled, and only while it runs.
    """
    if not group and process.poll() is not None:
        return
    if grace > 0:
        _signal(process, signal.SIGTERM, group)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
            if not group:
                return
    _signal(process, signal.SIGKILL, group)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=_LAST_WAIT)


def _signal(process: subprocess.Popen, signum: int, group: bool) -> None:
    """Send ``signum`` to ``process`` or its group; one that is already gone is no error."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signum)
        else:
            process.send_signal(signum)
