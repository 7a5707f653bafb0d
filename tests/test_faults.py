"""Faults of issue 8 (capture and dataset), each reproduced and checked against the fix.

Each test names the finding it covers: concurrent captures (1), interrupts and kills (2), the
hello as the authority on width (3), foreign streams (5), late and repeated hellos (6),
device-controlled names and values (7), bad CLI arguments (8), checksums, temporaries and file
modes (12); and a property test over random streams.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scripted_board import FIELDS, HELLO, PERIOD_US, LoopBoard, sample_line, stream_of
from waiting import wait_for

from tinybench.capture import Recorder, Session, list_sessions, recover_sessions
from tinybench.capture.partial import PartialSession
from tinybench.cli import main
from tinybench.dataset import Dataset, prepare
from tinybench.errors import CaptureError, DatasetError
from tinybench.wire import Hello, SampleBlock, format_hello, format_sample, with_checksum
from tinybench.wire.link import open_link

SIM = "sim://nano33ble?seed=1&speed=0"
SIM_REAL_TIME = "sim://nano33ble?seed=1"


@pytest.fixture
def loop_link():
    with open_link("loop://") as link:
        yield link


def capture_process(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tinybench", "capture", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@contextlib.contextmanager
def capturing_in_real_time(root: Path) -> Iterator[tuple[subprocess.Popen, int]]:
    """A ``tinybench capture`` process that has put at least half a second of samples on disk.

    Yields the process and how many rows its partial file held; kills it on the way out.
    """
    proc = capture_process(
        "--port", SIM_REAL_TIME, "--label", "wave", "--seconds", "60", "--data-dir", str(root)
    )
    folder = root / "gestures" / "wave"
    try:
        wait_for(lambda: partial_rows(folder) >= 60, timeout=60, message="no samples on disk")
        yield proc, partial_rows(folder)
    finally:
        proc.kill()


def partial_rows(folder: Path) -> int:
    partials = list(folder.glob(".*.partial.csv"))
    return sum(max(len(p.read_bytes().splitlines()) - 1, 0) for p in partials)


# --- 1. two captures at once -------------------------------------------------------------


def test_two_capture_processes_at_once_never_overwrite_each_other(tmp_path: Path) -> None:
    args = ["--port", SIM, "--label", "wave", "--samples", "30000", "--dataset", "conc"]
    procs = [capture_process(*args, "--data-dir", str(tmp_path)) for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    sessions = list_sessions("conc", tmp_path)
    assert sorted(s.name for s in sessions) == ["wave-0001", "wave-0002"]
    assert all(s.samples == 30000 and len(s.to_frame()) == 30000 for s in sessions)
    printed = sorted(line.split(":")[0] for out, _ in outputs for line in out.splitlines())
    assert printed == sorted(str(s.path) for s in sessions)


def test_concurrent_reservations_in_one_process_get_distinct_names(tmp_path: Path) -> None:
    names: list[str] = []
    lock = threading.Lock()

    def reserve_many() -> None:
        for _ in range(20):
            partial = PartialSession.reserve(tmp_path / "wave", "wave")
            with lock:
                names.append(partial.name)

    threads = [threading.Thread(target=reserve_many) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(names) == [f"wave-{i:04d}" for i in range(1, 121)]
    with pytest.raises(CaptureError, match="already exists or is being recorded"):
        PartialSession.reserve(tmp_path / "wave", "wave", "wave-0007")


# --- 2. interrupts, kills, and samples on disk as they arrive ------------------------------


def test_samples_reach_the_disk_within_half_a_second(loop_link, tmp_path: Path) -> None:
    board = LoopBoard(loop_link)
    recorder = Recorder(loop_link, "gestures", tmp_path)
    recorder.start("wave", samples=1000)
    board.write(stream_of(range(50)))
    folder = tmp_path / "gestures" / "wave"
    wait_for(lambda: recorder.samples == 50)
    arrived = time.monotonic()
    wait_for(lambda: partial_rows(folder) == 50, timeout=0.5, message="not on disk in 0.5 s")
    assert time.monotonic() - arrived < 0.5 and recorder.is_recording
    session = recorder.stop()
    assert session.meta["ended"] == "stopped" and session.samples == 50


def test_a_keyboard_interrupt_finishes_the_session_as_interrupted(tmp_path: Path) -> None:
    with open_link(SIM_REAL_TIME) as link:
        recorder = Recorder(link, "gestures", tmp_path)
        timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            recorder.record("wave", seconds=30)
    session = recorder.last_session
    assert session is not None and session.meta["ended"] == "interrupted"
    assert 40 < session.samples < 200  # about 0.5-1 s at 119 Hz
    assert session.to_frame()["seq"].tolist() == list(range(session.samples))
    assert not list(session.path.parent.glob(".*"))


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_sigint_and_sigterm_finish_a_capture_process_as_interrupted(
    tmp_path: Path, sig: int, status: int
) -> None:
    with capturing_in_real_time(tmp_path) as (proc, seen):
        proc.send_signal(sig)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == status, err
    (session,) = list_sessions("gestures", tmp_path)
    assert session.meta["ended"] == "interrupted" and session.samples >= seen
    assert str(session.path) in out and "kept" in err
    assert session.meta["csv_sha256"] == hashlib.sha256(session.path.read_bytes()).hexdigest()


def test_sigkill_leaves_a_partial_session_that_the_next_capture_recovers(tmp_path: Path) -> None:
    with capturing_in_real_time(tmp_path) as (proc, seen):
        proc.kill()
        proc.wait(timeout=10)
    folder = tmp_path / "gestures" / "wave"
    assert list_sessions("gestures", tmp_path) == []  # nothing finished, but on disk:
    assert partial_rows(folder) >= seen
    again = capture_process(
        "--port", SIM, "--label", "idle", "--samples", "20", "--data-dir", str(tmp_path)
    )
    out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    assert "wave-0001.csv: recovered" in out
    recovered = Session.load(folder / "wave-0001.csv")
    assert recovered.meta["ended"] == "recovered" and recovered.samples >= seen
    frame = recovered.to_frame()
    assert frame["seq"].tolist() == list(range(recovered.samples))
    assert recovered.meta["board"] == "nano33ble" and recovered.meta["fields"][0] == "ax"
    assert not list(folder.glob(".*"))


def test_recovery_keeps_every_complete_line_and_leaves_live_sessions_alone(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "gestures" / "wave"
    dead = PartialSession.reserve(folder, "wave")
    draft = {"dataset": "gestures", "label": "wave", "session": dead.name}
    dead.write_draft({**draft, "started_at": "2026-01-01T00:00:00+00:00", "hello": None})
    dead.append(("ax", "ay"), [(0, 0, (1.0, 2.0)), (1, 10_000, (3.0, 4.0))])
    os.write(dead._fd, b"2,20000,5.0,6")  # a torn last line, as a power loss leaves it
    dead.close()  # the recorder "died": its lock is gone
    live = PartialSession.reserve(folder, "wave")
    live.append(("ax", "ay"), [(0, 0, (1.0, 2.0))])
    empty = PartialSession.reserve(folder, "wave")
    empty.close()

    (session,) = recover_sessions(tmp_path / "gestures")
    assert session.name == dead.name and session.meta["ended"] == "recovered"
    assert session.to_frame()["ax"].tolist() == [1.0, 3.0]
    assert session.meta["measured_rate_hz"] == 100.0 and session.meta["rate_hz"] == 100.0
    assert session.meta["csv_sha256"] == hashlib.sha256(session.path.read_bytes()).hexdigest()
    assert live.path.exists() and not empty.path.exists()
    live.close()


def test_dataset_load_recovers_partial_sessions_and_stale_temporaries_go(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    for label in ("a", "b"):
        partial = PartialSession.reserve(root / label, label)
        meta = {"dataset": "ds", "label": label, "session": partial.name}
        partial.write_draft({**meta, "started_at": "2026-01-01T00:00:00+00:00", "rate_hz": 50})
        partial.append(("x",), [(None, None, (float(i),)) for i in range(40)])
        partial.close()
    stale = root / "a" / ".a-0001.json.1234abcd.tmp"
    stale.write_text("{")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fresh = root / "a" / ".a-0009.json.5678abcd.tmp"
    fresh.write_text("{")  # maybe another process's write in progress: kept
    dataset = Dataset.load(root)
    assert sorted(dataset.sessions.index) == ["a-0001", "b-0001"]
    assert dataset.rate_hz == 50 and not stale.exists() and fresh.exists()


# --- 3. the hello sets the width ---------------------------------------------------------


def test_the_hello_sets_the_width_not_the_first_sample(loop_link, tmp_path: Path) -> None:
    stray = format_sample(0, 0, [1.0, 2.0, 3.0, 4.0])
    LoopBoard(loop_link, stream=stray + stream_of(range(1, 31)))
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=30)
    assert session.samples == 30 and session.meta["ended"] == "complete"
    assert session.dropped_lines["wrong-width"] == 1
    assert session.meta["fields"] == list(FIELDS)


# --- 6. late and second hellos -------------------------------------------------------------


class BootingBoard(LoopBoard):
    """A board that resets when the port opens: deaf for ``boot_s``, then prints its hello."""

    def __init__(self, link, boot_s: float, **kwargs) -> None:
        super().__init__(link, **kwargs)
        self.ready_at = time.monotonic() + boot_s
        self.booted = threading.Timer(boot_s, lambda: self.write(format_hello(HELLO)))
        self.booted.start()

    def send(self, kind: str, payload: bytes = b"") -> None:
        if time.monotonic() >= self.ready_at:
            super().send(kind, payload)


def test_a_board_that_resets_on_open_is_heard_within_the_default_timeout(
    loop_link, tmp_path: Path
) -> None:
    BootingBoard(loop_link, boot_s=1.8, stream=stream_of(range(40)))
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=40)
    assert session.meta["board"] == "nano33ble" and session.meta["fields"] == list(FIELDS)
    assert session.samples == 40


def test_a_late_boot_hello_fills_in_the_session_it_arrives_in(loop_link, tmp_path: Path) -> None:
    board = BootingBoard(loop_link, boot_s=0.5, stream=stream_of(range(40)))
    recorder = Recorder(loop_link, "gestures", tmp_path, hello_timeout=0.2)
    session = recorder.record("wave", samples=40)  # starts as a plain stream, then the hello
    assert session.meta["board"] == "nano33ble" and session.meta["fields"] == list(FIELDS)
    assert session.meta["rate_hz"] == 119 and "stream" not in session.meta
    assert [k for k, _ in board.sent].count("c") >= 1  # asked to stream once it had booted


def test_a_restart_mid_session_is_counted_and_timing_stays_right(loop_link, tmp_path) -> None:
    stream = stream_of(range(60)) + format_hello(HELLO) + stream_of(range(60))
    LoopBoard(loop_link, stream=stream)
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=120)
    assert session.samples == 120 and session.meta["restarts"] == 1
    assert session.measured_rate_hz == pytest.approx(1e6 / PERIOD_US, abs=0.01)
    assert session.lost_samples == 0 and session.meta["ended"] == "complete"


def test_a_reset_counter_and_clock_without_hello_is_a_restart_too(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(100)) + stream_of(range(100)))
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", seconds=1.5)
    # 1.5 s of device time: 100 samples (0.83 s) before the reset, 80 after.
    assert session.meta["restarts"] == 1 and session.samples == 100 + 80
    assert session.measured_rate_hz == pytest.approx(1e6 / PERIOD_US, abs=0.01)


def test_a_restart_with_other_fields_ends_the_session_keeping_its_samples(loop_link, tmp_path):
    other = Hello(board="nano33ble", rate_hz=119, fields=("t",))
    LoopBoard(loop_link, stream=stream_of(range(20)) + format_hello(other))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    with pytest.raises(CaptureError, match="restarted with 1 fields"):
        recorder.record("wave", samples=100)
    (session,) = list_sessions("gestures", tmp_path)
    assert session.samples == 20 and session.meta["ended"] == "error"


# --- 7. names and values from the device are data ------------------------------------------


def test_device_field_names_are_renamed_never_structure(loop_link, tmp_path: Path) -> None:
    hellos = {  # written as a device would: format_hello refuses such names
        "a": "#tinybench v=1 board=x rate_hz=119 fields=label,session,az\n",
        "b": "#tinybench v=1 board=x rate_hz=119 fields=seq,t_us,=HYPERLINK(1)\n",
    }
    for label, hello in hellos.items():
        with open_link("loop://") as link:
            LoopBoard(link, hello=hello, stream=stream_of(range(30)))
            Recorder(link, "names", tmp_path).record(label, samples=30)
    a, b = (list_sessions("names", tmp_path)[i].meta for i in (0, 1))
    assert a["fields"] == ["label_0", "session_1", "az"]
    assert b["fields"] == ["seq_0", "t_us_1", "_HYPERLINK_1_"]
    assert b["device_fields"] == ["seq", "t_us", "=HYPERLINK(1)"]
    header = (tmp_path / "names" / "b" / "b-0001.csv").read_text().splitlines()[0]
    assert header == "seq,t_us,seq_0,t_us_1,_HYPERLINK_1_"
    assert not any(cell[:1] in "=+-@" for cell in header.split(","))


def test_hello_fields_that_clash_still_make_a_loadable_dataset(tmp_path: Path) -> None:
    for label in ("a", "b"):
        hello = Hello(board="x", rate_hz=119, fields=("label", "session", "az"))
        with open_link("loop://") as link:
            LoopBoard(link, hello=hello, stream=stream_of(range(30)))
            Recorder(link, "clash", tmp_path).record(label, samples=30)
    dataset = Dataset.load("clash", tmp_path)
    assert dataset.fields == ("label_0", "session_1", "az")
    assert dataset.windows(10).x.shape == (2 * 5, 10, 3)


def test_sidecars_are_strict_json_and_huge_values_are_dropped(loop_link, tmp_path) -> None:
    hello = Hello(board="x", rate_hz=math.inf, fields=FIELDS)
    huge = format_sample(3, 3 * PERIOD_US, [1e308, 0.0, 0.0])
    LoopBoard(loop_link, hello=hello, stream=stream_of(range(3)) + huge + stream_of(range(4, 30)))
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=29)
    text = session.meta_path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} is not JSON"))
    assert session.meta["rate_hz"] == 119.0  # the hello's inf is ignored: the measured rate
    assert session.dropped_lines["out-of-range"] == 1 and session.samples == 29
    assert np.isfinite(session.to_frame()[list(FIELDS)].to_numpy(np.float32)).all()


VALUE_TEXTS = ("0.0310", "-1.5000", "2.5e-3")  # kept as sent: not 0.031, -1.5, 0.0025


def value_stream(fmt: str, count: int, bad_at: int, bad: str) -> tuple[str, list[str]]:
    """A stream in ``fmt`` with one bad value on line ``bad_at``, and the rows it should save."""
    lines, rows = [], []
    for i in range(count):
        texts = [VALUE_TEXTS[0], bad if i == bad_at else VALUE_TEXTS[1], VALUE_TEXTS[2]]
        if fmt == "protocol":
            lines.append(with_checksum(f"s,{i},{i * PERIOD_US}," + ",".join(texts)) + "\n")
            row = f"{i},{i * PERIOD_US}," + ",".join(texts)
        else:
            lines.append(("," if fmt == "plain" else "\t").join(texts) + "\r\n")
            row = ",," + ",".join(repr(float(t)) for t in texts)
        if i != bad_at:
            rows.append(row)
    return "".join(lines), rows


@pytest.mark.parametrize("fmt", ["protocol", "plain", "forwarder"])
@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ("nan", "non-finite"),
        ("inf", "non-finite"),
        ("-inf", "non-finite"),
        ("1e39", "out-of-range"),
    ],
)
def test_a_bad_value_is_dropped_once_under_its_reason_in_every_format(
    loop_link, tmp_path: Path, fmt: str, bad: str, reason: str
) -> None:
    stream, rows = value_stream(fmt, 300, 150, bad)
    hello = HELLO if fmt == "protocol" else None
    LoopBoard(loop_link, hello=hello, stream=stream)
    recorder = Recorder(loop_link, "values", tmp_path, hello_timeout=0.3)
    session = recorder.record("wave", samples=299)
    assert {k: n for k, n in session.dropped_lines.items() if n} == {reason: 1}
    assert session.samples == 299
    assert session.path.read_text().splitlines()[1:] == rows  # the neighbours, as sent
    sent = [float(t) for t in VALUE_TEXTS]
    assert (session.to_frame().iloc[:, 2:].to_numpy() == sent).all()


def test_the_virtual_board_at_full_speed_saves_exactly_the_text_it_sent(tmp_path: Path) -> None:
    with open_link(SIM) as link:
        tap: list[bytes] = []
        link.subscribe(
            lambda batch: tap.extend(m.rows for m in batch if isinstance(m, SampleBlock)),
            blocks=True,
        )
        session = Recorder(link, "exact", tmp_path).record("wave", samples=20_000)
    sent = b"".join(tap).decode().splitlines()
    saved = session.path.read_text().splitlines()[1:]
    assert len(saved) == 20_000 and saved == sent[: len(saved)]


def test_dataset_load_names_the_session_with_values_beyond_float32(tmp_path: Path) -> None:
    for label, value in (("a", 1.0), ("b", 1e308)):
        folder = tmp_path / "ds" / label
        folder.mkdir(parents=True)
        (folder / f"{label}-1.csv").write_text("x\n" + f"{value}\n" * 5)
        meta = {"format": "tinybench-session/1", "session": f"{label}-1", "label": label}
        (folder / f"{label}-1.json").write_text(json.dumps({**meta, "fields": ["x"]}))
    with pytest.raises(DatasetError, match=r"'b-1'.*beyond float32"):
        Dataset.load(tmp_path / "ds")


# --- 8. CLI arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value"),
    [
        ("--seconds", "nan"),
        ("--seconds", "inf"),
        ("--seconds", "-1"),
        ("--seconds", "0"),
        ("--samples", "0"),
        ("--samples", "2.5"),
        ("--sessions", "0"),
        ("--sessions", "-1"),
        ("--rate-hz", "inf"),
        ("--data-dir", ""),
        ("--port", ""),
    ],
)
def test_capture_refuses_bad_arguments_naming_the_value(
    flag: str, value: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = {"--port": SIM, "--label": "wave", "--samples": "5", "--data-dir": str(tmp_path)}
    args[flag] = value
    with pytest.raises(SystemExit) as info:
        main(["capture", *[item for pair in args.items() for item in pair]])
    assert info.value.code == 2
    assert f"argument {flag}: {value!r}" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*"))


def test_capture_without_a_length_says_which_flags(capsys, tmp_path: Path) -> None:
    assert main(["capture", "--port", SIM, "--label", "w", "--data-dir", str(tmp_path)]) == 2
    assert "--seconds or --samples" in capsys.readouterr().err


def test_a_write_failure_in_the_cli_gives_advice_a_cli_user_can_follow(
    capsys, monkeypatch, tmp_path: Path
) -> None:
    def failing_link(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "link", failing_link)
    args = ["capture", "--port", SIM, "--label", "wave", "--data-dir", str(tmp_path)]
    status = main([*args, "--samples", "50"])
    err = capsys.readouterr().err
    assert status == 2 and "No space left" in err and "run the same `tinybench capture`" in err
    assert "retry_save" not in err
    monkeypatch.undo()
    gc.collect()  # the failed recorder's lock goes with it (a real CLI process has exited)
    assert main([*args, "--samples", "5"]) == 0
    assert "recovered 50 samples" in capsys.readouterr().out


# --- 12. checksums and file modes ----------------------------------------------------------


def test_dataset_load_checks_csv_sha256_and_names_the_session(tmp_path: Path) -> None:
    with open_link(SIM) as link:
        for label in ("wave", "idle"):
            Recorder(link, "sums", tmp_path).record(label, samples=60)
    path = tmp_path / "sums" / "idle" / "idle-0001.csv"
    path.write_bytes(path.read_bytes()[:-40])  # cut short, at a line boundary or not
    with pytest.raises(DatasetError, match=r"'idle-0001'.*csv_sha256"):
        Dataset.load("sums", tmp_path)


@pytest.mark.parametrize("umask", [0o022, 0o002])
def test_session_files_follow_the_umask(loop_link, tmp_path: Path, umask: int) -> None:
    LoopBoard(loop_link, stream=stream_of(range(10)))
    old = os.umask(umask)
    try:
        session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=10)
    finally:
        os.umask(old)
    for path in (session.path, session.meta_path):
        assert path.stat().st_mode & 0o777 == 0o644 & ~umask


# --- 5. foreign streams train end to end ---------------------------------------------------


def test_dataset_loads_sessions_without_seq_or_rate_and_with_nearby_rates(tmp_path) -> None:
    root = tmp_path / "plain"
    rates = {"a": [100.0, 101.5], "b": [98.7, None]}
    for label, label_rates in rates.items():
        folder = root / label
        folder.mkdir(parents=True)
        for i, rate in enumerate(label_rates):
            rows = "".join(f",,{np.sin(t / (3 + (label == 'b')))}\n" for t in range(50))
            (folder / f"{label}-{i}.csv").write_text("seq,t_us,x\n" + rows)
            meta = {"format": "tinybench-session/1", "session": f"{label}-{i}", "label": label}
            meta |= {"fields": ["x"], "rate_hz": rate, "measured_rate_hz": rate}
            (folder / f"{label}-{i}.json").write_text(json.dumps(meta))
    dataset = Dataset.load(root)
    assert dataset.rate_hz == pytest.approx(100.0)
    windows = dataset.windows(20, 10)
    assert len(windows) == 4 * 4  # one run per session: empty seq is no gap


class PtyBoard:
    """A board on a pseudo-terminal: answers ``?`` with ``hello`` (if any), ``c`` with ``stream``.

    Without a hello it is a foreign board that ignores commands; the test writes its lines.
    """

    def __init__(self, hello: str | None = None, stream: str = "") -> None:
        import tty

        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.path = os.ttyname(self._slave)
        self.hello, self.stream = hello, stream
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._answer, daemon=True)
        self._thread.start()

    def _answer(self) -> None:
        pending = b""
        while not self._closing.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                data = os.read(self.master, 1024)
            except OSError:
                return
            if not data:
                return
            *lines, pending = (pending + data).split(b"\n")
            for line in lines:
                if line.strip() == b"?" and self.hello:
                    self.write(self.hello)
                elif line.strip() == b"c" and self.stream:
                    self.write(self.stream)

    def write(self, text: str) -> None:
        data = text.replace("\n", "\r\n").encode("ascii")  # as Serial.println() sends it
        for start in range(0, len(data), 4096):
            os.write(self.master, data[start : start + 4096])

    def unplug(self) -> None:
        """Close the board's end: the host's next read fails as a pulled USB cable's does."""
        self.close()

    def close(self) -> None:
        self._closing.set()
        self._thread.join()
        for fd in (self.master, self._slave):
            if fd >= 0:
                os.close(fd)
        self.master = self._slave = -1


def _signal(label: str, n: int, width: int, phase: int) -> np.ndarray:
    t = np.arange(phase, phase + n)[:, None] + np.arange(width)
    return np.sin(t / 4.0) if label == "wave" else 0.05 * np.cos(t / 40.0) + 2.0


def _lines(fmt: str, values: np.ndarray) -> str:
    if fmt == "edge-impulse":
        return "".join("\t".join(f"{v:.4f}" for v in row) + "\n" for row in values)
    return "".join(",".join(f"{v:.4f}" for v in row) + "\n" for row in values)


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["csv-header", "csv", "edge-impulse", "imu-capture"])
def test_each_foreign_stream_format_trains_a_model(fmt: str, tmp_path: Path) -> None:
    writer = PtyBoard()
    rate = None if fmt == "csv-header" else 119.0
    try:
        with open_link(writer.path) as link:
            recorder = Recorder(link, fmt, tmp_path, hello_timeout=0.3, rate_hz=rate)
            for index in range(8):
                label = ("wave", "idle")[index % 2]
                values = _signal(label, 60, 3, phase=index * 7)
                recorder.start(label, samples=60 if fmt != "imu-capture" else 1000)
                if fmt == "csv-header" and index == 0:
                    writer.write("aX,aY,aZ\n")
                if fmt == "csv-header":  # paced, so the host measures a rate
                    start = time.monotonic()
                    for chunk in range(20):
                        time.sleep(max(0.0, start + chunk * 0.02 - time.monotonic()))
                        writer.write(_lines(fmt, values[chunk * 3 : chunk * 3 + 3]))
                else:
                    writer.write(_lines(fmt, values) + ("\n" if fmt == "imu-capture" else ""))
                session = recorder.wait(timeout=20)
                assert session.samples == 60 and session.meta["ended"] == "complete"
    finally:
        writer.close()
    dataset = Dataset.load(fmt, tmp_path)
    assert dataset.fields == (("aX", "aY", "aZ") if fmt == "csv-header" else ("v0", "v1", "v2"))
    prepared = prepare(dataset, window=20, stride=10, val=0.25, test=0.25)
    from tinybench.train import conv1d_classifier, evaluate, fit

    model = conv1d_classifier(
        prepared.input_shape, 2, filters=(8, 8, 8), dense=8, learning_rate=1e-2, dropout=0.0
    )
    fit(model, prepared.train, prepared.val, epochs=40, batch_size=8, progress=False, patience=None)
    assert evaluate(model, prepared.test).accuracy >= 0.9


@pytest.mark.slow
def test_the_virtual_board_on_a_pty_trains_a_model_too(tmp_path: Path) -> None:
    from tinybench.sim.pty import run_simulator
    from tinybench.train import conv1d_classifier, evaluate, fit

    server = run_simulator(seed=3, speed=0)
    try:
        with open_link(str(server.path)) as link:
            recorder = Recorder(link, "protocol", tmp_path)
            for label in ("wave", "idle") * 3:
                recorder.record(label, samples=476)
    finally:
        server.stop()
    prepared = prepare("protocol", window=119, val=0.34, test=0.34, data_dir=tmp_path)
    model = conv1d_classifier(
        prepared.input_shape, 2, filters=(8, 8, 8), dense=8, learning_rate=1e-2, dropout=0.0
    )
    fit(model, prepared.train, prepared.val, epochs=40, batch_size=8, progress=False, patience=None)
    assert evaluate(model, prepared.test).accuracy >= 0.9


# --- the property test ---------------------------------------------------------------------

EVENTS = st.lists(
    st.one_of(
        st.tuples(st.just("samples"), st.integers(1, 30)),
        st.tuples(st.just("garbage"), st.sampled_from(["s,1,2,x*00", "hello?", "1,2", "s,,"])),
        st.tuples(st.just("long"), st.integers(70_000, 200_000)),
        st.tuples(st.just("restart"), st.just(0)),
    ),
    max_size=12,
)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(events=EVENTS, unplug_at_end=st.booleans())
def test_csv_rows_are_the_valid_samples_sent_and_counts_add_up(
    tmp_path_factory: pytest.TempPathFactory, events: list, unplug_at_end: bool
) -> None:
    root = tmp_path_factory.mktemp("prop")
    stream, expected, seq, garbage, restarts = [], [], 0, 0, 0
    reset = False
    for kind, arg in events:
        if kind == "samples":
            for _ in range(arg):
                if reset:  # counter and clock went back: a restart, unless they were at 0
                    restarts += expected[-1] > 0
                    reset = False
                stream.append(sample_line(seq))
                expected.append(seq)
                seq += 1
        elif kind == "garbage":
            stream.append(arg + "\n")
            garbage += 1
        elif kind == "long":
            stream.append("9" * arg + "\n")
            garbage += 1
        elif expected:  # a reset board: its counter and its clock start again
            seq, reset = 0, True
    board = PtyBoard(format_hello(HELLO), "".join(stream))
    try:
        with open_link(board.path) as link:
            recorder = Recorder(link, "prop", root, idle_timeout=30)
            recorder.start("wave")
            wait_for(lambda: recorder.samples == len(expected), timeout=20)
            time.sleep(0.1)  # let the lines after the last sample through
            if unplug_at_end:
                board.unplug()
            outcome = recorder.stop if not unplug_at_end else lambda: recorder.wait(timeout=10)
            if not expected:
                with pytest.raises(CaptureError, match="Nothing recorded"):
                    outcome()
                assert not list(root.rglob("*.csv"))
                return
            if unplug_at_end:
                with pytest.raises(CaptureError, match="ended early"):
                    outcome()
                session = list_sessions("prop", root)[0]
                assert session.meta["ended"] == "unplugged"
            else:
                session = outcome()
    finally:
        board.close()
    frame = session.to_frame()
    assert frame["seq"].tolist() == expected
    assert session.samples == len(expected) == int(session.meta["samples"])
    assert sum(session.dropped_lines.values()) == garbage
    assert session.meta["restarts"] == restarts
    assert session.lost_samples == 0
