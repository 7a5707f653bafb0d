"""Native code's stderr: capturing what C and C++ libraries write to file descriptor 2.

TensorFlow, LiteRT and TFLM write log lines straight to fd 2, below Python's ``sys.stderr``:
Jupyter shows them in red under a cell, and TFLM's allocation report can only be read there.
:func:`captured_fd2` redirects fd 2 into a temporary file for the length of a block and hands
back a reader of its text; :func:`quiet_native_logs` uses it to send such lines to the
``tinybench.native`` logger at DEBUG level, so nothing is lost and nothing reaches a notebook.

One re-entrant lock serialises the redirections of a process: a nested block captures into its
own file and restores the outer one when it ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import TextIO

__all__ = ["captured_fd2", "quiet_native_logs"]

native_log = logging.getLogger("tinybench.native")
_FD2_LOCK = threading.RLock()
#: Python warnings TensorFlow's converter raises on every int8 conversion; they carry no advice
#: a tinybench user can act on.
_NOISY_WARNINGS = ("Statistics for quantized inputs were expected",)


@contextlib.contextmanager
def captured_fd2() -> Iterator[Callable[[], str]]:
    """Redirect fd 2 into a temporary file inside the block; yield a reader of its text.

    The reader works inside the block only; the file is gone once the block ends.
    """
    with _FD2_LOCK, tempfile.TemporaryFile() as sink:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)

        def read() -> str:
            sink.seek(0)
            return sink.read().decode(errors="replace")

        try:
            yield read
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


@contextlib.contextmanager
def quiet_native_logs() -> Iterator[TextIO]:
    """Send what native code writes to fd 2 inside the block to the ``tinybench.native`` log.

    Python-level converter warnings that carry no advice are silenced in the block as well.

    Yields:
        A text stream on the real stderr, for output that must stay visible while fd 2 is
        redirected (a progress bar in a terminal).
    """
    terminal = os.fdopen(os.dup(2), "w", buffering=1, closefd=True)
    try:
        with warnings.catch_warnings(), captured_fd2() as read:
            for message in _NOISY_WARNINGS:
                warnings.filterwarnings("ignore", message=message)
            try:
                yield terminal
            finally:
                for line in read().splitlines():
                    if line.strip():
                        native_log.debug("%s", line)
    finally:
        terminal.close()
