"""The virtual board: every command, pacing, faults (checksums, loss, unplug), sim:// and pty."""

from __future__ import annotations

import subprocess
import sys
import time

import numpy as np
import pytest
import serial
from waiting import wait_for

from tinybench.errors import ConfigError, PortError, UnplugError
from tinybench.sim.board import NO_MODEL_MESSAGE, VirtualBoard
from tinybench.sim.pty import serve_pty
from tinybench.sim.synth import GestureSynth
from tinybench.sim.urlhandler.protocol_sim import UNPLUG_MESSAGE
from tinybench.wire import (
    DeviceError,
    Dropped,
    Hello,
    MessageQueue,
    Sample,
    SequenceTracker,
    format_sample,
    format_samples,
    open_link,
    parse_line,
)


def collect(link, seconds: float) -> list:
    messages = []
    with MessageQueue(link) as sub:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            messages += sub.get(timeout=0.05)
    return messages


def samples_of(messages) -> list[Sample]:
    return [m for m in messages if isinstance(m, Sample)]


# --- formatting --------------------------------------------------------------------------


@pytest.mark.parametrize("add_checksum", [True, False])
def test_block_formatting_is_byte_identical_to_format_sample(add_checksum) -> None:
    rng = np.random.default_rng(0)
    n = 3000
    values = np.concatenate([rng.uniform(-4, 4, (n, 3)), rng.uniform(-2000, 2000, (n, 3))], 1)
    values[:5] = 0.0
    values[5:10] = -0.00004  # rounds to zero: no "-0.0000"
    values[10:15] = 0.00005
    values[15] = [1999.99995, -3.99995, 0.5, 123456.7, -9.87654, 1e-9]
    seqs = rng.integers(0, 2**32, n)
    seqs[:3] = [0, 9, 10]
    t_us = rng.integers(0, 10**13, n)
    t_us[:3] = [0, 1, 99]
    got = format_samples(seqs, t_us, values, add_checksum=add_checksum).decode("ascii")
    shown = np.rint(values * 1e4) / 1e4 + 0.0  # the 4-decimal values the board sends
    want = "".join(
        format_sample(int(s), int(t), [float(v) for v in row], add_checksum=add_checksum)
        for s, t, row in zip(seqs, t_us, shown, strict=True)
    )
    assert got == want


def test_garbled_lines_fail_their_checksum_and_only_those() -> None:
    n = 500
    garble = np.zeros(n, bool)
    garble[::9] = True
    data = format_samples(np.arange(n), np.arange(n) * 8403, np.ones((n, 6)), garble=garble)
    parsed = [parse_line(line) for line in data.decode("ascii").splitlines()]
    dropped = [i for i, m in enumerate(parsed) if isinstance(m, Dropped)]
    assert dropped == list(np.flatnonzero(garble))
    assert {parsed[i].reason for i in dropped} == {"checksum"}
    plain = format_samples(
        np.arange(n), np.arange(n), np.ones((n, 6)), add_checksum=False, garble=garble
    )
    reasons = {parse_line(line).reason for line in plain.decode().splitlines()[::9]}
    assert reasons == {"bad-sample"}  # without checksums a garbled line no longer parses


# --- commands, straight to the board -----------------------------------------------------


def test_every_command_is_answered() -> None:
    board = VirtualBoard(seed=3)
    streamed: list[bytes] = []
    board.attach(streamed.append)
    try:
        (hello_line,) = board.handle("?")
        hello = parse_line(hello_line)
        assert isinstance(hello, Hello)
        assert hello.virtual and hello.board == "nano33ble" and hello.rate_hz == 119.0
        assert hello.fields == ("ax", "ay", "az", "gx", "gy", "gz")
        assert hello.units == ("g", "g", "g", "dps", "dps", "dps")
        assert hello.labels == ()  # no model
        assert hello.extra["gestures"] == "idle,wave,punch,flex,circle"
        assert hello.extra["imu"] == "LSM9DS1"
        assert board.handle("c") == [] and board.mode == "c"
        assert board.handle(b"x\n") == [] and board.mode is None
        assert board.handle("g wave") == []
        assert board.source.performing == "wave"
        for command in ("i", "v 00ff"):
            (line,) = board.handle(command)
            assert parse_line(line) == DeviceError(NO_MODEL_MESSAGE)
        (line,) = board.handle("g jump")
        message = parse_line(line).message
        assert "unknown gesture 'jump'" in message and "idle, wave, punch, flex, circle" in message
        (line,) = board.handle("q")
        assert parse_line(line).message.startswith("unknown command 'q'; known commands: ? c x")
        (line,) = board.handle("v zz")
        assert "not hex" in parse_line(line).message
        (line,) = board.handle("c*00")
        assert "bad checksum" in parse_line(line).message
        assert board.handle("") == [] and board.handle("\r") == []
    finally:
        board.close()


def test_lines_carry_no_checksum_when_switched_off() -> None:
    board = VirtualBoard(checksum=False, speed=0)
    chunks: list[bytes] = []
    board.attach(chunks.append)
    try:
        assert "*" not in board.handle("?")[0]
        board.handle("c")
        wait_for(lambda: len(chunks) > 0)
        board.handle("x")
        line = chunks[0].split(b"\n")[0].decode()
        assert "*" not in line and isinstance(parse_line(line), Sample)
    finally:
        board.close()


def test_a_recorded_source_that_runs_out_unplugs_the_board() -> None:
    class Recording:
        fields, units, rate_hz = GestureSynth.fields, GestureSynth.units, 119.0

        def stream(self, block: int):
            yield np.zeros((block, 6))

    unplugged: list[bool] = []
    board = VirtualBoard(source=Recording(), speed=0)
    chunks: list[bytes] = []
    board.attach(chunks.append, lambda: unplugged.append(True))
    board.handle("c")
    wait_for(lambda: unplugged)
    assert board.unplugged and board.handle("?") == []
    assert b"".join(chunks).count(b"\n") == 2048  # the one block it had
    board.close()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"garble": 1.5}, "garble is a probability"),
        ({"drop": -0.1}, "drop is a probability"),
        ({"speed": -1}, "speed must be >= 0"),
        ({"unplug_after": -5}, "unplug_after"),
        ({"board": "nano99"}, "Known boards: nano33ble"),
        ({"source": GestureSynth(rate_hz=50.0)}, "rate_hz=119"),
    ],
)
def test_bad_settings_name_the_value_and_the_choices(kwargs, match) -> None:
    with pytest.raises(ConfigError, match=match):
        VirtualBoard(**kwargs)


# --- sim:// in-process -------------------------------------------------------------------


def test_streams_at_the_nominal_rate_with_device_timestamps() -> None:
    with open_link("sim://nano33ble?seed=1") as link:
        assert link.request_hello().virtual
        link.send("c")
        start = time.monotonic()
        got = samples_of(collect(link, 1.0))
        link.send("x")
        elapsed = time.monotonic() - start
        after = samples_of(collect(link, 0.3))
    rate = len(got) / elapsed
    assert 80 < rate < 140  # paced at 119 Hz (loose: the test machine may be busy)
    seqs = [s.seq for s in got + after]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    steps = np.diff([s.t_us for s in got])
    assert set(steps.tolist()) <= {8403, 8404}  # 1e6 / 119 µs, rounded
    assert len(after) <= 2  # x stops the stream at once
    assert all(len(s.values) == 6 for s in got)


def first_samples(link, n: int) -> np.ndarray:
    """Start streaming, return the values of the first ``n`` samples, and stop."""
    got: list[Sample] = []
    with MessageQueue(link) as sub:
        link.send("c")
        deadline = time.monotonic() + 5.0
        while len(got) < n and time.monotonic() < deadline:
            got += samples_of(sub.get(timeout=0.1))
        link.send("x")
        while sub.get(timeout=0.2):  # what was sent before 'x' arrives, then nothing
            pass
    assert len(got) >= n
    return np.array([s.values for s in got[:n]])


def test_gesture_command_changes_what_the_sensor_reads() -> None:
    with open_link("sim://nano33ble?seed=2&speed=0") as link:
        idle = first_samples(link, 1000)
        link.send("g", b"wave")
        wave = first_samples(link, 1000)
    assert idle[:, 3:].std() < 10  # dps
    assert wave[200:, 3:].std() > 30  # after the 0.3 s it takes to start waving


def test_garbled_lines_are_dropped_and_their_samples_counted_lost() -> None:
    with open_link("sim://nano33ble?seed=3&speed=0&garble=0.05&fault_seed=1") as link:
        link.request_hello()  # replies are never garbled
        link.send("c")
        wait_for(lambda: link.stats.samples > 20_000)
        link.send("x")
        time.sleep(0.2)
        stats = link.stats
    checksum_drops = stats.dropped["checksum"]
    total = stats.samples + checksum_drops
    assert 0.03 * total < checksum_drops < 0.07 * total
    assert stats.lost_samples <= checksum_drops <= stats.lost_samples + 1
    assert stats.dropped_lines == checksum_drops


def test_dropped_samples_show_as_sequence_gaps() -> None:
    with open_link("sim://nano33ble?seed=3&speed=0&drop=0.02&fault_seed=2") as link:
        link.send("c")
        wait_for(lambda: link.stats.samples > 20_000)
        link.send("x")
        time.sleep(0.2)
        stats = link.stats
    assert 0.01 * stats.samples < stats.lost_samples < 0.03 * stats.samples
    assert stats.dropped_lines == 0 and stats.restarts == 0


def test_unplug_after_n_samples_keeps_them_and_reports_unplug() -> None:
    with open_link("sim://nano33ble?speed=0&unplug_after=500") as link:
        with MessageQueue(link) as sub:
            link.send("c")
            received = []
            with pytest.raises(UnplugError, match="unplugged"):
                while True:
                    received += samples_of(sub.get(timeout=1.0))
        assert isinstance(link.error, UnplugError)
        assert not link.alive
        assert [s.seq for s in received] == list(range(500))
        assert link.stats.samples == 500 and link.stats.lost_samples == 0
        with pytest.raises(UnplugError):
            link.send("?")


def test_unplug_mid_stream_reaches_subscribers() -> None:
    errors: list[BaseException] = []
    with open_link("sim://nano33ble?seed=4") as link:
        link.subscribe(lambda batch: None, errors.append)
        link.send("c")
        wait_for(lambda: link.stats.samples >= 5)
        link.port.board.unplug()
        wait_for(lambda: link.error is not None)
        assert isinstance(errors[0], UnplugError)
        assert UNPLUG_MESSAGE in str(link.error)


def test_modem_lines_say_whether_the_board_is_plugged_in() -> None:
    port = serial.serial_for_url("sim://nano33ble?speed=0&unplug_after=5", timeout=0.1)
    try:
        assert (port.cts, port.dsr, port.cd, port.ri) == (True, True, True, False)
        port.write(b"c\n")
        wait_for(lambda: not port.dsr)
        assert (port.cts, port.dsr, port.cd, port.ri) == (True, False, False, False)
    finally:
        port.close()


def test_port_reads_honour_timeout_and_back_pressure_bounds_memory() -> None:
    port = serial.serial_for_url("sim://nano33ble?speed=0", timeout=0.1)
    try:
        start = time.monotonic()
        assert port.read(10) == b""  # idle board: nothing until the timeout
        assert 0.08 < time.monotonic() - start < 1.0
        port.write(b"c\n")
        time.sleep(0.5)  # nobody reads: the board must wait, not fill memory
        waiting = port.in_waiting
        assert 64 * 1024 <= waiting < 256 * 1024  # the limit plus at most one block
        lines = port.read(waiting).split(b"\n")[:-1]
        seqs = [parse_line(line).seq for line in lines]
        assert seqs == list(range(len(seqs)))  # nothing lost while waiting
        port.reset_input_buffer()
        assert port.in_waiting < waiting
    finally:
        port.close()


@pytest.mark.parametrize(
    ("url", "match"),
    [
        ("sim://nano99", "unknown virtual board 'nano99'.*nano33ble, nano33ble_rev2"),
        ("sim://nano33ble?colour=red", "unknown option 'colour'.*seed, speed, model"),
        ("sim://nano33ble?speed=fast", "bad value 'fast' for 'speed'"),
        ("sim://nano33ble?garble=3", "garble is a probability"),
        ("sim://nano33ble?model=/nonexistent/export", "/nonexistent/export"),
    ],
)
def test_bad_urls_are_port_errors_that_list_the_choices(url, match) -> None:
    with pytest.raises(PortError, match=match):
        open_link(url)


def test_virtual_board_without_a_model_never_imports_tensorflow() -> None:
    code = (
        "import sys; from tinybench.wire.link import open_link\n"
        "with open_link('sim://nano33ble?seed=1&speed=0') as link:\n"
        "    link.request_hello(); link.send('c'); link.send('x')\n"
        "print(sorted(m for m in ('tensorflow', 'tflite_micro', 'tf_keras') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --- the pty -----------------------------------------------------------------------------


def test_pty_streams_without_loss_and_stopping_it_is_an_unplug() -> None:
    with serve_pty(seed=5, speed=0) as server:
        assert server.path.startswith("/dev/")
        link = open_link(server.path)
        try:
            hello = link.request_hello()
            assert hello.virtual and hello.board == "nano33ble"
            link.send("c")
            wait_for(lambda: link.stats.samples > 5000)
            link.send("x")
            assert link.stats.lost_samples == 0 and link.stats.dropped_lines == 0
            assert link.error is None
            server.stop()
            wait_for(lambda: link.error is not None)
            assert isinstance(link.error, UnplugError)
            assert not server.alive
        finally:
            link.close()


def test_pty_board_unplug_closes_the_device() -> None:
    with serve_pty(speed=0, unplug_after=1000) as server:
        with open_link(server.path) as link:
            link.send("c")
            wait_for(lambda: link.error is not None)
            assert isinstance(link.error, UnplugError)
            assert link.stats.samples <= 1000
        wait_for(lambda: not server.alive)


def test_pty_is_raw_and_answers_commands_line_by_line() -> None:
    with serve_pty() as server:
        port = serial.serial_for_url(server.path, timeout=2.0)
        try:
            port.write(b"q\n?\n")
            error, hello = port.readline(), port.readline()
            assert isinstance(parse_line(error), DeviceError)
            assert isinstance(parse_line(hello), Hello)
            assert not error.endswith(b"\r\n")  # no CR/LF translation
            port.write(b"x\n")
            port.timeout = 0.2
            assert port.read(100) == b""  # no echo of the commands
        finally:
            port.close()


def stream_until(sub: MessageQueue, done, seconds: float = 5.0) -> list:
    messages: list = []
    deadline = time.monotonic() + seconds
    while not done(messages) and time.monotonic() < deadline:
        messages += sub.get(timeout=0.05)
    return messages


def test_reset_reboots_the_board_mid_stream_with_a_hello_and_counters_from_zero() -> None:
    with open_link("sim://nano33ble?seed=4&speed=4") as link, MessageQueue(link) as sub:
        link.send("c")
        before = stream_until(sub, lambda m: len(samples_of(m)) >= 100)
        assert samples_of(before)[-1].t_us > 500_000  # 0.2 s of streaming at least
        link.port.board.reset()
        after = stream_until(sub, lambda m: len(samples_of(m)) >= 20)
        link.send("x")
    hello_at = next(i for i, m in enumerate(after) if isinstance(m, Hello))
    assert after[hello_at].virtual
    restarted = samples_of(after[hello_at:])
    assert restarted[0].seq == 0 and restarted[0].t_us < 100_000
    tracker = SequenceTracker()
    for sample in samples_of(before + after[:hello_at]):
        tracker.update(sample.seq, sample.t_us)
    assert tracker.is_restart(restarted[0].seq, restarted[0].t_us)
    assert [s.seq for s in restarted] == list(range(len(restarted)))
    assert link.stats.restarts == 1 and link.stats.lost_samples == 0


def test_reset_without_streaming_comes_back_idle_like_the_capture_sketch() -> None:
    with open_link("sim://nano33ble?seed=4&speed=4") as link, MessageQueue(link) as sub:
        link.send("c")
        stream_until(sub, lambda m: len(samples_of(m)) >= 20)
        link.port.board.reset(stream=False)
        after = stream_until(sub, lambda m: any(isinstance(x, Hello) for x in m))
        time.sleep(0.3)
        late = sub.get(timeout=0.1)
        assert link.port.board.mode is None
    hello_at = next(i for i, m in enumerate(after) if isinstance(m, Hello))
    assert samples_of(after[hello_at:]) == [] and samples_of(late) == []
