"""Protocol v1: parsing, formatting, checksums, plain CSV and forwarder lines, loss counting."""

from __future__ import annotations

import functools
import operator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tinybench.errors import ProtocolError
from tinybench.wire import (
    FLOAT32_MAX,
    MAX_LINE_BYTES,
    Command,
    DeviceError,
    Dropped,
    Header,
    Hello,
    LineSplitter,
    Prediction,
    RawOutput,
    Sample,
    SampleBlock,
    SequenceTracker,
    checksum,
    format_command,
    format_error,
    format_hello,
    format_output,
    format_prediction,
    format_sample,
    format_samples,
    parse_block,
    parse_command,
    parse_line,
    parse_lines,
    value_problem,
    with_checksum,
)

finite = st.floats(min_value=-1e5, max_value=1e5, allow_nan=False, allow_infinity=False)
seqs = st.integers(min_value=0, max_value=2**32 - 1)
name = st.from_regex(r"[a-z][a-z0-9_]{0,11}", fullmatch=True)


@given(st.binary(max_size=300))
def test_checksum_is_xor_of_bytes(data: bytes) -> None:
    assert checksum(data) == functools.reduce(operator.xor, data, 0)


def test_checksum_known_value() -> None:
    # NMEA example: $GPGLL,5057.970,N,00146.110,E,142451,A*27
    assert with_checksum("GPGLL,5057.970,N,00146.110,E,142451,A") == (
        "GPGLL,5057.970,N,00146.110,E,142451,A*27"
    )


@given(seqs, st.integers(min_value=0, max_value=2**40), st.lists(finite, min_size=1, max_size=9))
def test_sample_round_trip(seq: int, t_us: int, values: list[float]) -> None:
    for add in (True, False):
        parsed = parse_line(format_sample(seq, t_us, values, add_checksum=add))
        assert isinstance(parsed, Sample)
        assert (parsed.seq, parsed.t_us) == (seq, t_us)
        assert parsed.values == pytest.approx(values, abs=6e-5)


@st.composite
def sample_block(draw: st.DrawFn) -> tuple[list[int], list[int], list[list[float]], list[bool]]:
    """Rows of one width: seqs, timestamps, values on the 4-decimal grid, and a garble mask."""
    width = draw(st.integers(min_value=1, max_value=6))
    on_grid = st.integers(min_value=-(10**9), max_value=10**9).map(lambda i: i / 1e4)
    rows = draw(
        st.lists(
            st.tuples(
                seqs,
                st.integers(min_value=0, max_value=2**40),
                st.lists(on_grid, min_size=width, max_size=width),
                st.booleans(),
            ),
            min_size=1,
            max_size=40,
        )
    )
    return tuple(list(column) for column in zip(*rows, strict=True))


def garbled_by_hand(line: str, add_checksum: bool) -> str:
    """``line`` with the last decimal of its first value changed, as ``garble`` promises."""
    body, star, tail = line.rstrip("\n").partition("*")
    position = len(",".join(body.split(",")[:4])) - 1
    digit = body[position]
    swap = str((int(digit) + 1) % 10) if add_checksum else "x"
    return body[:position] + swap + body[position + 1 :] + star + tail + "\n"


@given(sample_block(), st.booleans())
def test_format_samples_is_byte_identical_to_format_sample(block, add_checksum: bool) -> None:
    seq, t_us, values, garble = block
    lines = [
        format_sample(*row, add_checksum=add_checksum)
        for row in zip(seq, t_us, values, strict=True)
    ]
    arrays = np.array(seq), np.array(t_us), np.array(values)
    clean = format_samples(*arrays, add_checksum=add_checksum)
    assert clean.decode("ascii") == "".join(lines)
    mask = np.array(garble)
    got = format_samples(*arrays, add_checksum=add_checksum, garble=mask)
    want = [
        garbled_by_hand(line, add_checksum) if hit else line
        for line, hit in zip(lines, garble, strict=True)
    ]
    assert got.decode("ascii") == "".join(want)
    dropped = [isinstance(parse_line(line), Dropped) for line in want]
    assert dropped == garble  # a garbled line never parses as a sample, a clean one does


def test_format_samples_of_no_rows_is_empty() -> None:
    assert format_samples(np.zeros(0), np.zeros(0), np.zeros((0, 6))) == b""


@given(seqs, st.integers(min_value=0, max_value=10**9), st.lists(finite, min_size=1, max_size=12))
def test_prediction_round_trip(seq: int, latency: int, scores: list[float]) -> None:
    parsed = parse_line(format_prediction(seq, latency, scores))
    assert isinstance(parsed, Prediction)
    assert (parsed.seq, parsed.latency_us) == (seq, latency)
    assert parsed.scores == pytest.approx(scores, abs=6e-5)


@given(seqs, st.binary(max_size=200))
def test_output_round_trip(seq: int, data: bytes) -> None:
    assert parse_line(format_output(seq, data)) == RawOutput(seq, data)


@given(
    name,
    st.floats(min_value=0.1, max_value=1e5, allow_nan=False),
    st.lists(name, min_size=1, max_size=8),
    st.lists(name, max_size=8),
    st.booleans(),
)
def test_hello_round_trip(
    board: str, rate: float, fields: list[str], labels: list[str], virtual: bool
) -> None:
    hello = Hello(
        board=board,
        sensor="imu",
        rate_hz=float(f"{rate:g}"),
        fields=tuple(fields),
        labels=tuple(labels),
        virtual=virtual,
        extra={"imu": "LSM9DS1"},
    )
    parsed = parse_line(format_hello(hello))
    assert parsed == hello
    assert parsed.extra == {"imu": "LSM9DS1"}


def test_hello_from_design_example() -> None:
    line = (
        "#tinybench v=1 board=nano33ble sensor=imu rate_hz=119 "
        "fields=ax,ay,az,gx,gy,gz labels=idle,wave,punch"
    )
    hello = parse_line(line)
    assert isinstance(hello, Hello)
    assert hello.board == "nano33ble" and hello.rate_hz == 119
    assert hello.fields == ("ax", "ay", "az", "gx", "gy", "gz")
    assert hello.labels == ("idle", "wave", "punch")
    assert not hello.virtual


def test_hello_refuses_names_that_break_the_line() -> None:
    with pytest.raises(ProtocolError, match="a b"):
        format_hello(Hello(fields=("a b",)))


def test_error_line() -> None:
    assert parse_line(format_error("model\ntoo big")) == DeviceError("model too big")


@given(st.text(max_size=120))
def test_any_text_never_raises(text: str) -> None:
    result = parse_line(text)
    assert isinstance(
        result, Sample | Prediction | RawOutput | DeviceError | Header | Hello | Dropped
    )


@given(st.binary(max_size=200))
def test_any_bytes_never_raise(data: bytes) -> None:
    parse_line(data)


@given(seqs, st.lists(finite, min_size=1, max_size=6), st.data())
def test_garbled_checksummed_line_is_dropped_or_still_valid(
    seq: int, values: list[float], data: st.DataObject
) -> None:
    line = format_sample(seq, 1000, values).rstrip("\n")
    position = data.draw(st.integers(min_value=0, max_value=len(line) - 1))
    replacement = data.draw(st.sampled_from("0123456789,.-sx*AF \t"))
    garbled = line[:position] + replacement + line[position + 1 :]
    result = parse_line(garbled)
    if garbled == line:
        assert isinstance(result, Sample)
    elif "*" in garbled[-3:-2]:
        # Any one-character change to body or checksum makes the XOR disagree.
        assert isinstance(result, Dropped)
        assert result.reason == "checksum"


def test_wrong_checksum_is_dropped_with_reason() -> None:
    line = format_sample(5, 100, [1.0, 2.0]).strip()
    bad = line[:-2] + ("00" if line[-2:] != "00" else "01")
    result = parse_line(bad)
    assert isinstance(result, Dropped) and result.reason == "checksum"
    assert "computed" in result.detail


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("", "empty"),
        ("   \r", "empty"),
        ("s,1,2", "bad-sample"),
        ("s,abc,2,3", "bad-sample"),
        ("s,1,2,nan", "non-finite"),
        ("s,1,2,1e39", "out-of-range"),
        ("p,1,2,inf", "non-finite"),
        ("s,4294967296,2,3", "bad-sample"),
        ("p,1,2", "bad-prediction"),
        ("p,1,x,0.5", "bad-prediction"),
        ("o,1,zz", "bad-output"),
        ("#tinybench v=one", "bad-hello"),
        ("#tinybench board", "bad-hello"),
        ("# just a comment", "comment"),
        ("1.0,abc def,!", "unparseable"),
        ("caf\u00e9,1", "encoding"),
        ("x" * 70_000, "too-long"),
        ("s,1,2,3*G1", "checksum"),
    ],
)
def test_malformed_lines_are_dropped_with_a_reason(line: str, reason: str) -> None:
    result = parse_line(line)
    assert isinstance(result, Dropped)
    assert result.reason == reason
    assert result.line == line


def test_plain_csv_with_header_as_imu_capture_prints_it() -> None:
    assert parse_line("aX,aY,aZ,gX,gY,gZ\r\n") == Header(("aX", "aY", "aZ", "gX", "gY", "gZ"))
    sample = parse_line("0.012,-0.998,0.031,1.282,-0.305,0.061\r\n")
    assert sample == Sample(None, None, (0.012, -0.998, 0.031, 1.282, -0.305, 0.061))


@pytest.mark.parametrize("sep", [",", "\t", " ", ", ", "\t\t"])
def test_edge_impulse_forwarder_lines(sep: str) -> None:
    result = parse_line(sep.join(["1", "-2.5", "3e2"]))
    assert result == Sample(None, None, (1.0, -2.5, 300.0))


def test_line_splitter_keeps_partial_lines() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"s,1,2,3\ns,2,") == ["s,1,2,3"]
    assert splitter.feed(b"3,4\n") == ["s,2,3,4"]
    assert splitter.feed(b"") == []


@given(st.lists(st.binary(max_size=40).filter(lambda b: b"\n" not in b), max_size=30), st.data())
def test_line_splitter_is_independent_of_chunking(lines: list[bytes], data: st.DataObject) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    splitter = LineSplitter()
    out: list[str] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        out += splitter.feed(stream[start:cut])
        start = cut
    assert out == [line.decode("latin-1") for line in lines]


def test_line_splitter_bounds_a_line_without_newline() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"x" * 70_000) == []
    assert splitter.overflows == 1
    assert splitter.feed(b"x" * 70_000) == []  # still the same line: neither kept nor counted
    assert splitter.overflows == 1
    assert splitter.feed(b"\ns,1,2,3\n") == ["s,1,2,3"]


def over_long_stream(size: int) -> bytes:
    """A first line of ``size`` bytes of numbers (a runaway device), then two good samples."""
    runaway = (b"1.5," * (size // 4 + 1))[:size]
    good = format_sample(1, 8403, [0.5, 0.25]) + format_sample(2, 16807, [0.5, 0.25])
    return runaway + b"\n" + good.encode()


def split_into(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize("size", [160_000, 1_000_000])
@pytest.mark.parametrize("read_size", [None, 4096, 65_537, 1000])
def test_an_over_long_line_is_dropped_whole_and_counted_once(
    size: int, read_size: int | None
) -> None:
    stream = over_long_stream(size)
    chunks = [stream] if read_size is None else split_into(stream, read_size)
    splitter = LineSplitter()
    lines = [line for chunk in chunks for line in splitter.feed(chunk)]
    assert splitter.overflows == 1
    assert [parse_line(line) for line in lines] == [
        Sample(1, 8403, (0.5, 0.25)),
        Sample(2, 16807, (0.5, 0.25)),
    ]


def test_a_line_of_exactly_the_maximum_is_kept_and_one_byte_more_is_not() -> None:
    splitter = LineSplitter()
    exact = b"1" * MAX_LINE_BYTES
    assert splitter.feed(exact[:1000]) == []
    assert splitter.feed(exact[1000:] + b"\n") == [exact.decode()]
    assert splitter.feed(exact + b"1\ns,1,2,3\n") == ["s,1,2,3"]
    assert splitter.overflows == 1


def test_over_long_lines_between_good_ones_each_count_once() -> None:
    splitter = LineSplitter()
    long_line = b"9" * (MAX_LINE_BYTES + 1) + b"\n"
    stream = b"s,1,2,3\n" + long_line + b"s,2,2,3\n" + long_line + long_line + b"s,3,2,3\n"
    lines = [line for chunk in split_into(stream, 3000) for line in splitter.feed(chunk)]
    assert lines == ["s,1,2,3", "s,2,2,3", "s,3,2,3"]
    assert splitter.overflows == 3


def test_sequence_tracker_counts_gaps_and_wraps() -> None:
    tracker = SequenceTracker()
    assert [tracker.update(s) for s in (0, 1, 2, 5, 6)] == [0, 0, 0, 2, 0]
    assert tracker.lost == 2 and tracker.received == 5
    tracker = SequenceTracker()
    assert [tracker.update(s) for s in (2**32 - 2, 2**32 - 1, 0, 2)] == [0, 0, 0, 1]
    assert tracker.lost == 1


def test_sequence_tracker_treats_a_reset_as_restart_not_loss() -> None:
    tracker = SequenceTracker()
    for seq in (100, 101, 0, 1):
        tracker.update(seq)
    assert tracker.lost == 0 and tracker.restarts == 1


def test_sequence_tracker_detects_a_board_restart_by_seq_and_time() -> None:
    tracker = SequenceTracker()
    assert not tracker.is_restart(0, 5_000_000)  # nothing recorded yet
    for seq in range(100, 103):
        tracker.update(seq, 5_000_000 + seq * 8403)
    assert not tracker.is_restart(103, 5_900_000)  # the next sample
    assert not tracker.is_restart(110, 6_000_000)  # a gap: loss, not a restart
    assert not tracker.is_restart(2**32 - 1 + 104, 6_000_000)  # forward, wrapped
    assert not tracker.is_restart(0, 7_000_000)  # seq back, clock on: the board did not reboot
    assert not tracker.is_restart(103, 1_000)  # clock back alone: micros() wrapped
    assert tracker.is_restart(0, 1_200_000)  # both back: the board booted again
    assert tracker.restarts == 0  # asking records nothing
    tracker.update(0, 1_200_000)
    assert tracker.restarts == 1 and tracker.lost == 0
    assert tracker.last == 0 and tracker.last_t_us == 1_200_000


def test_sequence_tracker_without_times_decides_by_seq_alone() -> None:
    tracker = SequenceTracker()
    tracker.update(50)
    assert tracker.last_t_us is None
    assert not tracker.is_restart(51, None)
    assert tracker.is_restart(0, None)
    assert tracker.is_restart(0, 10)  # the last sample had no time
    tracker.update(2**32 - 2)
    assert not tracker.is_restart(1, None)  # a wrap-around, 2 lost


@given(st.lists(st.integers(min_value=1, max_value=50), min_size=1, max_size=50))
def test_sequence_tracker_loss_equals_skipped(steps: list[int]) -> None:
    tracker = SequenceTracker()
    seq = 2**32 - 100
    tracker.update(seq % 2**32)
    for step in steps:
        seq += step
        tracker.update(seq % 2**32)
    assert tracker.lost == sum(step - 1 for step in steps)


@pytest.mark.parametrize(
    ("line", "command"),
    [
        ("?", Command("?")),
        ("c\r\n", Command("c")),
        ("x", Command("x")),
        ("i", Command("i")),
        ("v 00ff7f80", Command("v", b"\x00\xff\x7f\x80")),
        ("g wave", Command("g", b"wave")),
        (with_checksum("c"), Command("c")),
    ],
)
def test_parse_command(line: str, command: Command) -> None:
    assert parse_command(line) == command


@pytest.mark.parametrize(
    ("line", "match"),
    [
        ("q", "unknown command 'q'"),
        ("v", "needs the input tensor"),
        ("v 0g", "not hex"),
        ("v 123", "not hex"),
        ("c now", "takes no argument"),
        ("g", "needs a gesture name"),
        ("c*00", "bad checksum"),
    ],
)
def test_parse_command_refuses_with_reason(line: str, match: str) -> None:
    with pytest.raises(ProtocolError, match=match):
        parse_command(line)


@given(st.binary(min_size=1, max_size=64))
def test_command_round_trip(payload: bytes) -> None:
    assert parse_command(format_command("v", payload)) == Command("v", payload)


def test_empty_validation_input_is_refused() -> None:
    with pytest.raises(ProtocolError, match="needs the input tensor"):
        parse_command(format_command("v", b""))


def test_format_command_refuses_unknown() -> None:
    with pytest.raises(ProtocolError, match="known commands"):
        format_command("z")


def test_examples_in_the_protocol_document_parse_with_valid_checksums() -> None:
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[1] / "docs" / "protocol.md").read_text()
    examples = re.findall(r"`([#spo][^`]*\*[0-9A-F]{2})`", doc)
    assert len(examples) >= 4
    for example in examples:
        assert not isinstance(parse_line(example), Dropped), example


@pytest.mark.parametrize("line", ["*00", "*", "**00"])
def test_lines_that_are_only_a_checksum_are_dropped(line: str) -> None:
    assert isinstance(parse_line(line), Dropped)


@given(
    st.lists(
        st.one_of(
            st.text(max_size=60),
            st.builds(
                lambda seq, values: format_sample(seq, 1000, values).rstrip("\\n"),
                seqs,
                st.lists(finite, min_size=1, max_size=6),
            ),
        ),
        max_size=40,
    ),
    st.data(),
)
def test_parse_lines_equals_parse_line(lines: list[str], data: st.DataObject) -> None:
    garbled = [
        line[:-1] + data.draw(st.sampled_from("0123456789ABCDEF"))
        if line.startswith("s,")
        else line
        for line in lines
    ]
    assert parse_lines(garbled) == [parse_line(line) for line in garbled]


# --- non-finite and float32-overflowing values (issue 8) ------------------------------------

BAD_VALUES = [("nan", "non-finite"), ("inf", "non-finite"), ("-inf", "non-finite")]
BAD_VALUES += [("1e39", "out-of-range"), ("-1e39", "out-of-range"), ("1e999", "out-of-range")]


def protocol_line(seq: int, value: str) -> str:
    return with_checksum(f"s,{seq},{seq * 8403},0.5,{value},-1.25")


def plain_line(seq: int, value: str) -> str:
    return f"0.5,{value},-1.25"


def forwarder_line(seq: int, value: str) -> str:
    return f"0.5\t{value}\t-1.25"


@pytest.mark.parametrize("form", [protocol_line, plain_line, forwarder_line])
@pytest.mark.parametrize(("value", "reason"), BAD_VALUES)
def test_a_bad_value_drops_its_sample_under_its_own_reason_in_every_path(
    form, value: str, reason: str
) -> None:
    lines = [form(seq, "0.25" if seq != 2 else value) for seq in range(5)]
    for results in ([parse_line(line) for line in lines], parse_lines(lines)):
        dropped = [r for r in results if isinstance(r, Dropped)]
        assert [d.reason for d in dropped] == [reason] and dropped[0].line == lines[2]
        samples = [r for r in results if isinstance(r, Sample)]
        assert [s.values for s in samples] == [(0.5, 0.25, -1.25)] * 4
    blocks = parse_block(lines)
    assert sum(isinstance(b, Dropped) for b in blocks) == 1
    assert sum(len(b) for b in blocks if isinstance(b, SampleBlock)) == (
        4 if form is protocol_line else 0
    )


def test_the_float32_limit_itself_is_kept_and_the_next_float_is_not() -> None:
    assert isinstance(parse_line(protocol_line(1, repr(FLOAT32_MAX))), Sample)
    above = repr(float(np.nextafter(FLOAT32_MAX, np.inf)))
    assert parse_line(protocol_line(1, above)).reason == "out-of-range"
    assert value_problem((FLOAT32_MAX, -FLOAT32_MAX)) is None
    assert value_problem((float("nan"),)) == "non-finite"


def test_a_header_of_nan_and_inf_is_a_line_of_bad_values_not_names() -> None:
    assert parse_line("nan,inf").reason == "non-finite"
    assert parse_line("aX,aY") == Header(("aX", "aY"))


def test_a_block_keeps_the_text_the_device_sent_as_csv_rows() -> None:
    values = ["0.0310", "-1.5e-3", "+.5", "5.", "1E+05", "-0"]
    lines = [with_checksum(f"s,{i},{i * 10},{v},{v}") for i, v in enumerate(values)]
    (block,) = parse_block([*lines[:3], lines[3] + "\r", *lines[4:]])
    assert block.rows.decode().splitlines() == [
        f"{i},{i * 10},{v},{v}" for i, v in enumerate(values)
    ]
    assert block.samples() == [parse_line(line) for line in lines]
    assert block.steady and block.last == parse_line(lines[-1])


@pytest.mark.parametrize(
    "odd",
    [
        "s,1_0,2,0.5",  # int() and float() read underscores, a CSV reader does not
        "s,10,2,1_0.5",
        "s,10,-2,0.5",  # a negative time: read line by line as before
        "s,10,2,0.5,",  # an empty value
        "s,10,2,1e",
        "s,10,2, 0.5",
        "s,12345678901,2,0.5",
    ],
)
def test_a_line_that_is_not_plain_goes_line_by_line_between_blocks(odd: str) -> None:
    good = [with_checksum(f"s,{i},{i},0.5") for i in range(6)]
    lines = [*good[:3], with_checksum(odd), *good[3:]]
    parsed = parse_block(lines)
    assert [type(p) for p in parsed] == [SampleBlock, type(parse_line(lines[3])), SampleBlock]
    assert parse_lines(lines) == [parse_line(line) for line in lines]
