"""Native log lines (written by C/C++ straight to fd 2) are kept out of notebooks but logged."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from tinybench.native_logs import captured_fd2, quiet_native_logs


def test_fd2_writes_inside_the_block_go_to_the_log_not_the_terminal(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="tinybench.native"), quiet_native_logs():
        os.write(2, b"E0000 cuda_platform.cc:52] failed call to cuInit\n")
    os.write(2, b"after the block\n")
    err = capfd.readouterr().err
    assert "cuInit" not in err and "after the block" in err
    assert any("cuInit" in r.getMessage() for r in caplog.records)


def test_nested_captures_each_read_their_own_text() -> None:
    with captured_fd2() as outer:
        os.write(2, b"outer 1\n")
        with captured_fd2() as inner:
            os.write(2, b"inner\n")
            assert inner() == "inner\n"
        os.write(2, b"outer 2\n")
        assert outer() == "outer 1\nouter 2\n"


def test_importing_tensorflow_through_tinybench_prints_nothing_native() -> None:
    code = (
        "from tinybench.tf_runtime import load_tfmot; load_tfmot(); "
        "from tinybench.train.models import conv1d_classifier; "
        "conv1d_classifier((16, 6), 3, seed=0)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300
    )
    assert out.returncode == 0, out.stderr
    for noise in ("cuInit", "oneDNN", "absl::InitializeLog", "cudart_stub"):
        assert noise not in out.stderr, out.stderr
