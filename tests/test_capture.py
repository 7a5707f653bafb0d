"""Capture: file layout and sidecar, loss and checksum accounting, unplugs, atomic writes,
plain CSV streams and refused names; against a scripted board on loop:// and the virtual board.
"""

from __future__ import annotations

import hashlib
import json
import os
import string
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scripted_board import (
    FIELDS,
    PERIOD_US,
    LoopBoard,
    stream_of,
    unplug,
)

from tinybench.capture import (
    SESSION_FORMAT,
    Recorder,
    Session,
    list_sessions,
    record_dataset,
    sessions_table,
    validate_name,
)
from tinybench.errors import CaptureError, ConfigError, LabelError, UnplugError
from tinybench.wire import Hello, format_sample
from tinybench.wire.link import open_link

# The keys of the sidecar contract in docs/data-format.md.
CONTRACT_KEYS = {
    "format",
    "dataset",
    "label",
    "session",
    "board",
    "virtual",
    "sensor",
    "rate_hz",
    "fields",
    "units",
    "started_at",
    "samples",
    "lost_samples",
    "dropped_lines",
    "measured_rate_hz",
    "tinybench_version",
}


@pytest.fixture
def loop_link():
    with open_link("loop://") as link:
        yield link


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


# --- names -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["wave", "left_hand-2", "idle.v2", "A", "x" * 64, "0"])
def test_validate_name_accepts_plain_names(name: str) -> None:
    assert validate_name(name) == name


@pytest.mark.parametrize(
    "name",
    [
        "../x",
        "..",
        "/abs",
        "",
        "a/b",
        "a\\b",
        "wave\n",
        "tab\there",
        "nul\x00",
        ".hidden",
        "a..b",
        "trailing.",
        "x" * 65,
        "space name",
        "café",
        "con",
        "COM1",
        None,
        3,
    ],
)
def test_validate_name_refuses_names_that_could_escape_or_break(name) -> None:
    with pytest.raises(LabelError) as info:
        validate_name(name, "dataset")
    message = str(info.value)
    assert repr(name) in message and "dataset" in message
    assert "letters, digits" in message  # says what is allowed


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1, max_size=80))
def test_any_accepted_name_stays_inside_its_folder(name: str) -> None:
    root = Path("/tmp/tinybench-root")
    try:
        validate_name(name)
    except LabelError:
        return
    assert (root / name).resolve().parent == root.resolve()
    assert set(name) <= set(string.ascii_letters + string.digits + "_-.")


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=string.ascii_letters, max_size=10),
    st.sampled_from(["/", "\\", "..", "\x00", "\n", "\x7f", " ", ":", "*"]),
    st.text(alphabet=string.ascii_letters, max_size=10),
)
def test_names_with_a_bad_part_are_always_refused(prefix: str, bad: str, suffix: str) -> None:
    with pytest.raises(LabelError):
        validate_name(prefix + bad + suffix)


def test_recorder_refuses_bad_dataset_and_label_before_talking_to_the_board(
    loop_link, tmp_path
) -> None:
    with pytest.raises(LabelError, match=r"'\.\./escape'"):
        Recorder(loop_link, "../escape", tmp_path)
    board = LoopBoard(loop_link, stream=stream_of(range(10)))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    for label in ["../x", "/etc", "", "wave\r"]:
        with pytest.raises(LabelError):
            recorder.record(label, samples=5)
    with pytest.raises(LabelError):
        recorder.record("wave", samples=5, session="../../x")
    assert board.sent == []
    assert files_in(tmp_path) == []


# --- files and sidecar ---------------------------------------------------------------------


def test_record_writes_csv_and_sidecar_with_the_contract_keys(loop_link, tmp_path) -> None:
    board = LoopBoard(loop_link, stream=stream_of(range(60)))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    session = recorder.record("wave", samples=50)

    assert [kind for kind, _ in board.sent] == ["?", "c", "x"]  # no 'g': not a virtual board
    assert files_in(tmp_path) == ["gestures/wave/wave-0001.csv", "gestures/wave/wave-0001.json"]
    meta = json.loads(session.meta_path.read_text())
    assert set(meta) >= CONTRACT_KEYS
    assert meta["format"] == SESSION_FORMAT
    assert (meta["dataset"], meta["label"], meta["session"]) == ("gestures", "wave", "wave-0001")
    assert (meta["board"], meta["virtual"], meta["sensor"]) == ("nano33ble", False, "imu")
    assert meta["fields"] == list(FIELDS) and meta["units"] == ["g", "g", "g"]
    assert meta["rate_hz"] == 119.0
    assert meta["samples"] == 50 and meta["lost_samples"] == 0
    assert meta["dropped_lines"] == {"checksum": 0}
    assert meta["measured_rate_hz"] == pytest.approx(1e6 / PERIOD_US, abs=0.01)
    assert meta["rate_source"] == "device" and meta["ended"] == "complete"
    assert meta["started_at"].endswith("+00:00")
    assert meta["csv_sha256"] == hashlib.sha256(session.path.read_bytes()).hexdigest()

    lines = session.path.read_text().splitlines()
    assert lines[0] == "seq,t_us,ax,ay,az"
    # each row is the text the board sent (format_sample writes 4 decimals), not a re-formatting
    assert lines[1:3] == ["0,0,0.0000,-1.5000,0.0625", f"1,{PERIOD_US},0.0100,-1.5000,0.0625"]
    assert len(lines) == 51
    frame = session.to_frame()
    assert list(frame.columns) == ["seq", "t_us", *FIELDS]
    assert frame["seq"].tolist() == list(range(50))
    np.testing.assert_allclose(frame["ax"], np.arange(50) / 100)
    assert Session.load(session.meta_path) == session


def test_sessions_are_numbered_and_named_sessions_are_not_overwritten(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(20)))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    names = [recorder.record("punch", samples=10).name for _ in range(3)]
    assert names == ["punch-0001", "punch-0002", "punch-0003"]
    named = recorder.record("punch", samples=10, session="morning")
    assert named.path == tmp_path / "gestures" / "punch" / "morning.csv"
    with pytest.raises(CaptureError, match="already exists"):
        recorder.record("punch", samples=10, session="morning")
    assert [s.name for s in list_sessions("gestures", tmp_path)] == ["morning", *names]
    table = sessions_table(recorder.sessions)
    assert table["samples"].tolist() == [10, 10, 10, 10]


def test_record_needs_a_limit(loop_link, tmp_path) -> None:
    with pytest.raises(ConfigError, match="seconds=… or samples="):
        Recorder(loop_link, "gestures", tmp_path).record("wave")


def test_seconds_limit_uses_the_host_clock_for_streams_without_timestamps(
    loop_link, tmp_path
) -> None:
    LoopBoard(loop_link, hello=None, stream="".join(f"{i},1,2\n" for i in range(5)))
    recorder = Recorder(loop_link, "gestures", tmp_path, hello_timeout=0.2)
    started = time.monotonic()
    session = recorder.record("idle", seconds=0.4)
    assert 0.35 < time.monotonic() - started - 0.2 < 2.0
    assert session.samples == 5 and session.meta["ended"] == "complete"


def test_seconds_limit_uses_the_board_clock_when_samples_have_timestamps(
    loop_link, tmp_path
) -> None:
    LoopBoard(loop_link, stream=stream_of(range(200)))  # arrives at once, 8403 µs apart
    session = Recorder(loop_link, "gestures", tmp_path).record("idle", seconds=0.5)
    assert session.samples == 60  # t_us 0 … 495,777: the samples of the first 0.5 s
    assert session.to_frame()["t_us"].iloc[-1] < 500_000


# --- loss and checksums --------------------------------------------------------------------


def test_sequence_gaps_are_counted_as_lost_and_bad_checksums_as_dropped(
    loop_link, tmp_path
) -> None:
    seqs = [s for s in range(100) if s not in {10, 11, 12, 40}]
    LoopBoard(loop_link, stream=stream_of(seqs, garbled={3, 20}))
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=80)
    assert session.samples == 80
    assert session.lost_samples == 4  # 10, 11, 12 and 40 all lie before the 80th sample
    assert session.dropped_lines["checksum"] == 2
    frame = session.to_frame()
    assert 40 not in frame["seq"].tolist() and frame["seq"].iloc[-1] == 83
    # 83 intervals of 8403 µs: the rate counts the lost samples' intervals too.
    assert session.measured_rate_hz == pytest.approx(1e6 / PERIOD_US, abs=0.01)


def test_samples_of_another_width_are_counted_not_mixed_in(loop_link, tmp_path) -> None:
    stream = stream_of(range(5)) + format_sample(5, 5 * PERIOD_US, [1.0]) + stream_of(range(6, 9))
    LoopBoard(loop_link, stream=stream)
    session = Recorder(loop_link, "gestures", tmp_path).record("wave", samples=8)
    assert session.dropped_lines["wrong-width"] == 1
    assert session.lost_samples == 1  # seq 5 never made it into the session


# --- unplugs and stalls --------------------------------------------------------------------


def test_unplug_mid_session_keeps_every_sample_and_raises(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(30)))
    recorder = Recorder(loop_link, "gestures", tmp_path, idle_timeout=10)
    recorder.start("flex", samples=1000)
    deadline = time.monotonic() + 3
    while recorder.samples < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    unplug(loop_link)
    with pytest.raises(CaptureError) as info:
        recorder.wait(timeout=5)
    error = info.value
    assert isinstance(error.__cause__, UnplugError)
    csv = tmp_path / "gestures" / "flex" / "flex-0001.csv"
    assert "30 samples" in str(error) and str(csv) in str(error)
    session = Session.load(csv)
    assert session.samples == 30
    assert session.to_frame()["seq"].tolist() == list(range(30))
    assert session.meta["ended"] == "unplugged"
    assert "stopped answering" in session.meta["error"]
    assert recorder.last_error is error and not recorder.is_recording


def test_unplug_before_any_sample_writes_nothing(loop_link, tmp_path) -> None:
    LoopBoard(loop_link)
    recorder = Recorder(loop_link, "gestures", tmp_path)
    recorder.start("flex", samples=10)
    unplug(loop_link)
    with pytest.raises(CaptureError, match="Nothing recorded for 'flex'"):
        recorder.wait(timeout=5)
    assert files_in(tmp_path) == []
    with pytest.raises(CaptureError, match="Cannot record 'flex'"):
        recorder.record("flex", samples=10)  # the link is gone for good


def test_a_stalled_stream_ends_with_an_error_and_keeps_its_samples(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(7)))
    recorder = Recorder(loop_link, "gestures", tmp_path, idle_timeout=0.3)
    with pytest.raises(CaptureError, match="7 samples received were kept"):
        recorder.record("idle", samples=100)
    session = list_sessions("gestures", tmp_path)[0]
    assert session.samples == 7 and session.meta["ended"] == "stalled"


# --- atomic writes -------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["sidecar", "link"])
def test_a_failed_finish_keeps_the_samples_on_disk_and_can_be_retried(
    loop_link, tmp_path, monkeypatch, failing: str
) -> None:
    LoopBoard(loop_link, stream=stream_of(range(20)))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    first = recorder.record("wave", samples=10)
    finished = {first.path: first.path.read_bytes(), first.meta_path: first.meta_path.read_bytes()}
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith(".json") and not Path(dst).name.startswith("."):
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    def failing_link(src, dst):
        raise OSError(28, "No space left on device")

    if failing == "sidecar":
        monkeypatch.setattr(os, "replace", failing_replace)
    else:
        monkeypatch.setattr(os, "link", failing_link)
    with pytest.raises(CaptureError, match=r"10 samples are safe in .*\.wave-0002\.partial\.csv"):
        recorder.record("wave", samples=10)
    folder = first.path.parent
    assert {p: p.read_bytes() for p in finished} == finished
    assert sorted(p.name for p in folder.iterdir()) == [
        ".wave-0002.partial.csv",
        ".wave-0002.partial.json",
        "wave-0001.csv",
        "wave-0001.json",
    ]
    assert [s.name for s in list_sessions("gestures", tmp_path)] == ["wave-0001"]
    assert recorder.unsaved_samples == 10

    monkeypatch.undo()
    saved = recorder.retry_save()
    assert saved.name == "wave-0002" and saved.samples == 10
    assert saved.to_frame()["seq"].tolist() == list(range(10))
    assert saved.meta["csv_sha256"] == hashlib.sha256(saved.path.read_bytes()).hexdigest()
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]
    with pytest.raises(CaptureError, match="Nothing to save"):
        recorder.retry_save()


def test_a_full_disk_while_recording_keeps_samples_in_memory_until_it_can_write(
    loop_link, tmp_path, monkeypatch
) -> None:
    board = LoopBoard(loop_link)
    recorder = Recorder(loop_link, "gestures", tmp_path)
    real_write = os.write
    failures = [0]

    def full_disk(fd, data):
        if failures[0] < 1:
            failures[0] += 1
            real_write(fd, bytes(data)[:7])  # half a row reaches the disk, then it is full
            raise OSError(28, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full_disk)
    recorder.start("wave", samples=40)
    board.write(stream_of(range(40)))
    session = recorder.wait(timeout=10)
    assert failures[0] == 1
    assert session.samples == 40
    assert session.to_frame()["seq"].tolist() == list(range(40))  # no torn row, no gap

    # A disk that stays full: the samples stay in memory until retry_save() can write them.
    failures[0] = -(10**9)
    recorder.start("wave", samples=40)
    board.write(stream_of(range(40)))
    with pytest.raises(CaptureError, match=r"0 samples are safe .* 40 more are held in memory"):
        recorder.wait(timeout=10)
    monkeypatch.undo()
    saved = recorder.retry_save()
    assert saved.samples == 40 and saved.to_frame()["seq"].tolist() == list(range(40))


def test_a_csv_without_sidecar_is_not_a_finished_session(tmp_path) -> None:
    folder = tmp_path / "gestures" / "wave"
    folder.mkdir(parents=True)
    (folder / "wave-0001.csv").write_text("seq,t_us,ax\n0,0,1.0\n")
    assert list_sessions("gestures", tmp_path) == []
    with pytest.raises(CaptureError, match="unfinished recording"):
        Session.load(folder / "wave-0001.csv")


# --- plain CSV streams ---------------------------------------------------------------------


def test_plain_csv_with_header_uses_the_header_and_host_rate(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, hello=None)
    recorder = Recorder(loop_link, "classic", tmp_path, hello_timeout=0.2)
    recorder.start("wave", samples=40)
    loop_link.port.write(b"aX,aY,aZ,gX,gY,gZ\n")
    for i in range(40):
        loop_link.port.write(f"{i / 10:.3f},0.5,-1,10,20,30\n".encode())
        time.sleep(0.005)
    session = recorder.wait(timeout=5)
    meta = session.meta
    assert meta["fields"] == ["aX", "aY", "aZ", "gX", "gY", "gZ"]
    assert meta["units"] == ["g", "g", "g", "dps", "dps", "dps"]
    assert meta["stream"] == "plain" and meta["rate_source"] == "host"
    assert meta["board"] == "unknown" and meta["lost_samples"] == 0
    assert 20 < meta["measured_rate_hz"] < 250  # one line every ~5 ms, measured on the host
    frame = session.to_frame()
    assert frame["seq"].isna().all() and len(frame) == 40
    assert frame["aX"].iloc[-1] == pytest.approx(3.9)


def test_plain_stream_without_header_names_fields_v0_to_vn(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, hello=None, stream="".join(f"{i}\t{i * 2}\n" for i in range(12)))
    session = Recorder(loop_link, "forwarder", tmp_path, hello_timeout=0.2).record(
        "idle", samples=12
    )
    assert session.meta["fields"] == ["v0", "v1"]
    assert session.to_frame()["v1"].tolist() == [i * 2 for i in range(12)]


# --- live counters and the virtual board's gesture command --------------------------------


def test_start_stop_and_live_counters(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(0, 50, 2)))  # every other sample is lost
    recorder = Recorder(loop_link, "gestures", tmp_path)
    calls: list[int] = []
    recorder.subscribe(lambda r: calls.append(r.samples))
    recorder.start("circle")
    deadline = time.monotonic() + 3
    while recorder.samples < 25 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorder.is_recording
    assert recorder.lost == 24
    assert recorder.rate_hz == pytest.approx(1e6 / PERIOD_US, abs=0.01)
    latest = recorder.latest(5)
    assert latest.shape == (5, 3)
    np.testing.assert_allclose(latest[:, 0], [0.40, 0.42, 0.44, 0.46, 0.48])
    with pytest.raises(CaptureError, match="Already recording 'circle'"):
        recorder.start("wave")
    session = recorder.stop()
    assert session.samples == 25 and session.lost_samples == 24
    assert not recorder.is_recording and calls and calls[-1] == 25
    with pytest.raises(CaptureError, match="Not recording"):
        recorder.stop()


def test_virtual_board_is_told_the_gesture_and_unknown_ones_are_refused(
    loop_link, tmp_path
) -> None:
    virtual = Hello(board="nano33ble", rate_hz=119, fields=FIELDS, virtual=True)
    board = LoopBoard(loop_link, hello=virtual, stream=stream_of(range(5)), gestures=("wave",))
    recorder = Recorder(loop_link, "gestures", tmp_path)
    recorder.record("wave", samples=5)
    assert [kind for kind, _ in board.sent] == ["?", "g", "?", "c", "x"]
    assert board.sent[1] == ("g", b"wave")
    with pytest.raises(CaptureError) as info:
        recorder.record("jump", samples=5)
    assert "'jump'" in str(info.value) and "wave" in str(info.value)
    assert [kind for kind, _ in board.sent][5:] == ["?", "g", "?"]  # never started streaming
    assert files_in(tmp_path) == ["gestures/wave/wave-0001.csv", "gestures/wave/wave-0001.json"]


def test_record_dataset_replace_swaps_sessions_and_keeps_the_readme(loop_link, tmp_path) -> None:
    LoopBoard(loop_link, stream=stream_of(range(8)))
    sessions = record_dataset(loop_link, "toy", ["a", "b"], 3, 8, tmp_path, progress=False)
    assert [s.name for s in sessions] == [
        "a-0001",
        "a-0002",
        "a-0003",
        "b-0001",
        "b-0002",
        "b-0003",
    ]
    readme = tmp_path / "toy" / "README.md"
    readme.write_text("synthetic")
    again = record_dataset(
        loop_link, "toy", ["a", "b"], 2, 8, tmp_path, replace=True, progress=False
    )
    assert [s.name for s in again] == ["a-0001", "a-0002", "b-0001", "b-0002"]
    assert all(s.path.exists() and s.samples == 8 for s in again)
    assert files_in(tmp_path / "toy") == [
        "README.md",
        "a/a-0001.csv",
        "a/a-0001.json",
        "a/a-0002.csv",
        "a/a-0002.json",
        "b/b-0001.csv",
        "b/b-0001.json",
        "b/b-0002.csv",
        "b/b-0002.json",
    ]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # staging removed


# --- the virtual board (sim://) ------------------------------------------------------------

SIM = "sim://nano33ble?seed=1&speed=0"


def test_recording_from_the_virtual_board(tmp_path) -> None:
    sessions = []
    for label in ("wave", "idle"):  # one link each: the first session of a board
        with open_link(SIM) as link:
            sessions.append(Recorder(link, "gestures", tmp_path).record(label, samples=119))
    for session in sessions:
        meta = session.meta
        assert set(meta) >= CONTRACT_KEYS
        assert (meta["board"], meta["virtual"], meta["sensor"]) == ("nano33ble", True, "imu")
        assert meta["fields"] == ["ax", "ay", "az", "gx", "gy", "gz"]
        assert meta["units"] == ["g", "g", "g", "dps", "dps", "dps"]
        assert meta["samples"] == 119 and meta["lost_samples"] == 0
        assert meta["dropped_lines"] == {"checksum": 0}
        assert meta["measured_rate_hz"] == pytest.approx(119.0, abs=0.05)  # device timestamps
        frame = session.to_frame()
        assert len(frame) == 119 and frame["seq"].diff().dropna().eq(1).all()
    wave, idle = (s.to_frame() for s in sessions)
    # The board performed the gestures it was told: a wave turns the wrist, idle barely moves.
    assert (
        wave[["gx", "gy", "gz"]].abs().to_numpy().max()
        > 5 * idle[["gx", "gy", "gz"]].abs().to_numpy().max()
    )


def test_seconds_of_a_full_speed_virtual_board_are_seconds_of_its_signal(tmp_path) -> None:
    with open_link(SIM) as link:
        session = Recorder(link, "gestures", tmp_path).record("circle", seconds=1.0)
    assert session.samples == 119 and session.measured_rate_hz == pytest.approx(119, abs=0.05)


def test_virtual_board_loss_and_checksum_failures_are_accounted(tmp_path) -> None:
    with open_link(SIM + "&drop=0.05&garble=0.05") as link:
        session = Recorder(link, "gestures", tmp_path).record("punch", samples=600)
    frame = session.to_frame()
    span = int(frame["seq"].iloc[-1] - frame["seq"].iloc[0]) + 1
    # Every sequence number in the span is either in the file or counted as lost.
    assert session.samples + session.lost_samples == span
    assert session.lost_samples > 600 * 0.05  # dropped samples and garbled sample lines
    assert session.dropped_lines["checksum"] > 600 * 0.02
    assert session.measured_rate_hz == pytest.approx(119.0, abs=0.05)


def test_virtual_board_unplug_mid_session_keeps_the_samples(tmp_path) -> None:
    with open_link(SIM + "&unplug_after=150") as link:
        recorder = Recorder(link, "gestures", tmp_path)
        with pytest.raises(CaptureError) as info:
            recorder.record("wave", samples=1000)
    assert isinstance(info.value.__cause__, UnplugError)
    session = list_sessions("gestures", tmp_path)[0]
    assert f"{session.samples} samples" in str(info.value) and str(session.path) in str(info.value)
    assert session.samples == 150 and session.meta["ended"] == "unplugged"
    assert session.to_frame()["seq"].tolist() == list(range(150))


def test_virtual_board_refuses_an_unknown_gesture_before_writing(tmp_path) -> None:
    with open_link(SIM) as link:
        recorder = Recorder(link, "gestures", tmp_path)
        with pytest.raises(CaptureError) as info:
            recorder.record("jump", samples=10)
        message = str(info.value)
        assert "'jump'" in message and "idle, wave, punch, flex, circle" in message
        assert "nothing was recorded" in message
        assert recorder.record("flex", samples=10).samples == 10  # the link still works
    assert files_in(tmp_path) == ["gestures/flex/flex-0001.csv", "gestures/flex/flex-0001.json"]


def test_record_dataset_from_the_virtual_board(tmp_path) -> None:
    def record(root: Path) -> list[Session]:
        with open_link("sim://nano33ble?seed=5&speed=0") as link:
            return record_dataset(link, "toy", ["wave", "circle"], 2, 50, root, progress=False)

    first, second = record(tmp_path / "a"), record(tmp_path / "b")
    assert [s.name for s in first] == ["wave-0001", "wave-0002", "circle-0001", "circle-0002"]
    assert all(s.samples == 50 and s.meta["virtual"] for s in first)
    assert [s.label for s in first] == ["wave", "wave", "circle", "circle"]
    # The same seed gives the same first session; later ones depend on how far the board ran
    # ahead of the host at full speed, as a real board's would.
    frame_a, frame_b = first[0].to_frame(), second[0].to_frame()
    assert frame_a.drop(columns="t_us").equals(frame_b.drop(columns="t_us"))


# --- the bundled dataset -------------------------------------------------------------------

BUNDLED = Path(__file__).resolve().parents[1] / "data" / "gestures"


def test_bundled_gestures_dataset_is_complete_small_and_says_it_is_synthetic() -> None:
    sessions = list_sessions("gestures", BUNDLED.parent)
    counts = Counter(s.label for s in sessions)
    assert set(counts) == {"idle", "wave", "punch", "flex", "circle"}
    assert min(counts.values()) >= 40
    total = sum(p.stat().st_size for p in BUNDLED.rglob("*") if p.is_file())
    assert total < 5_000_000
    for session in sessions:
        meta = session.meta
        assert meta["virtual"] is True and meta["ended"] == "complete"
        assert meta["samples"] >= 238 and meta["lost_samples"] == 0
        assert hashlib.sha256(session.path.read_bytes()).hexdigest() == meta["csv_sha256"]
    readme = (BUNDLED / "README.md").read_text()
    assert "synthetic" in readme.lower() and "scripts/make_gestures_dataset.py" in readme
    assert "seed=1" in readme
