"""The sketches' portable C++ header, compiled and run on the host against the Python side.

tests/cpp/test_tinybench_protocol.cpp is compiled with g++ -std=c++17 -Wall -Werror and run in
several modes; what it prints is compared with tinybench.wire.protocol (checksums, commands, lines)
and with tinybench.measure.interpreters.quantize / tinybench.dataset.Normalization
(quantization).
"""

from __future__ import annotations

import random
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cpp_build import gxx, needs_gxx

from tinybench.dataset import Normalization
from tinybench.errors import ProtocolError
from tinybench.measure import TensorInfo
from tinybench.measure.interpreters import quantize
from tinybench.wire import (
    DeviceError,
    Dropped,
    Hello,
    Prediction,
    RawOutput,
    Sample,
    checksum,
    parse_command,
    parse_line,
)

REPO = Path(__file__).resolve().parents[1]
HEADER_DIR = REPO / "arduino_sketches" / "common"
TEST_PROGRAM = REPO / "tests" / "cpp" / "test_tinybench_protocol.cpp"

pytestmark = needs_gxx


def compile_program(out: Path, std: str, extra: tuple[str, ...] = ()) -> Path:
    gxx("-Wextra", *extra, "-I", HEADER_DIR, TEST_PROGRAM, "-o", out, std=std, timeout=120)
    return out


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_program(tmp_path_factory.mktemp("header") / "test_protocol", "c++17")


def run(program: Path, *args: str, stdin: str = "") -> list[str]:
    result = subprocess.run(
        [str(program), *args], input=stdin.encode("latin-1"), capture_output=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.decode("latin-1").splitlines()


def test_selftest_passes(program: Path) -> None:
    lines = run(program, "selftest")
    assert lines and lines[-1].startswith("ok "), lines


@pytest.mark.parametrize("std", ["c++14", "c++17"])
def test_header_compiles_strictly_for_the_arduino_cores(tmp_path: Path, std: str) -> None:
    # The mbed cores build sketches with gnu++14; ESP32 with a newer standard.
    program = compile_program(tmp_path / "strict", std, ("-Wpedantic", "-Wshadow"))
    assert run(program, "selftest")[-1].startswith("ok ")


def test_checksum_matches_python(program: Path) -> None:
    rng = random.Random(4)
    bodies = [b"", b"GPGLL,5057.970,N,00146.110,E,142451,A", bytes(range(1, 256))]
    bodies += [
        bytes(rng.randrange(1, 256) for _ in range(rng.randrange(1, 120))) for _ in range(300)
    ]
    bodies = [body.replace(b"\n", b"") for body in bodies]
    lines = run(program, "checksum", stdin="".join(body.hex() + "\n" for body in bodies))
    assert lines == [f"{checksum(body):02X}" for body in bodies]


def command_corpus() -> list[str]:
    """Valid commands, their blanks and checksum variants, and many malformed lines."""
    rng = random.Random(11)
    payloads = ["00", "7f80", "0102030405060708090a0b0c0d0e0f", "DEADbeef", "01 02", "01\t02 "]
    base = ["?", "c", "x", "i", *(f"v {p}" for p in payloads)]
    bad = [
        "v", "v ", "v 0", "v 012", "v zz", "v 0 1", "v 01*", "v 0x01", "v -1", "C", "cc", "c x",
        "? ?", "xi", "hello", "*00", "*12", "c*", "c*4", "c*633", "c *63", "c\t", "c\tx",
        "c\t x", "v\t 01", "v 01\t*XX", "i i", "\x00", "c\x00", "é", "v 01" + "0" * 4,
        "?" * 40, "v " + "ab" * 300, "c * 63", "c*6 3", "c*63x", "c*6g", "\fc\v", "x\v\f",
        "v 01\v02\f03", "v\f01", "i\vx",
    ]  # fmt: skip
    lines = base + bad
    for text in base + bad[:12]:
        lines.append(f"  {text}\t ")
        lines.append(f"{text}*{checksum(text):02X}")
        lines.append(f"{text}*{checksum(text):02x}")
        lines.append(f"{text}*{checksum(text) ^ 0x40:02X}")
        lines.append(f" {text} *{checksum(text + ' '):02X} ")
        lines.append(f"{text}\t*{checksum(text + chr(9)):02X}")
    alphabet = "?cxiv vV01 9aAfFgz*\t"
    for _ in range(400):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 12)))
        lines.append(text)
        lines.append(f"{text}*{checksum(text.strip()):02X}")
    # Blank-only lines are ignored by the device (it sees them between CR and LF).
    return [line for line in lines if line.strip(" \t\v\f")]


def test_command_reader_accepts_exactly_what_parse_command_accepts(program: Path) -> None:
    corpus = command_corpus()
    stdin = "".join(line.encode("latin-1").hex() + "\n" for line in corpus)
    results = run(program, "commands", "4096", stdin=stdin)
    assert len(results) == len(corpus)
    checked = 0
    for line, result in zip(corpus, results, strict=True):
        try:
            command = parse_command(line)
        except ProtocolError:
            assert result.startswith("error "), (line, result)
            continue
        if command.kind == "g":  # the virtual board's command; devices refuse it
            assert result.startswith("error "), (line, result)
            continue
        expected = f"ok {command.kind} {len(command.payload)} {command.payload.hex()}".rstrip()
        assert result.rstrip() == expected, (line, result)
        checked += 1
    assert checked > 50  # the corpus holds plenty of valid commands


def test_v_payload_longer_than_the_buffer_is_counted_not_overflowed(program: Path) -> None:
    results = run(program, "commands", "4", stdin=b"v 0102030405060708".hex() + "\n")
    assert results == ["ok v 8 01020304"]


def test_command_errors_name_the_problem(program: Path) -> None:
    lines = ["q", "c now", "v 123", "v", "c*00", "g wave"]
    results = run(program, "commands", "16", stdin="".join(s.encode().hex() + "\n" for s in lines))
    assert "unknown command" in results[0] and "'q'" in results[0]
    assert "no argument" in results[1]
    assert "not hex" in results[2]
    assert "needs the input tensor" in results[3]
    assert "checksum" in results[4]
    assert "virtual board" in results[5]


def test_sample_and_prediction_lines_parse_back(program: Path) -> None:
    rng = np.random.default_rng(2)
    requests, expected = [], []
    for i in range(200):
        values = rng.uniform(-2000, 2000, size=rng.integers(1, 10)).astype(np.float32)
        if i % 3 == 0:
            values = (values / 1000).astype(np.float32)
        seq, t = int(rng.integers(0, 2**32)), int(rng.integers(0, 2**32))
        kind = "sample" if i % 2 else "prediction"
        requests.append(f"{kind} {seq} {t} " + " ".join(float(v).hex() for v in values))
        expected.append((kind, seq, t, values))
    lines = run(program, "format", stdin="\n".join(requests) + "\n")
    assert len(lines) == len(expected)
    for line, (kind, seq, t, values) in zip(lines, expected, strict=True):
        assert line[-3] == "*"  # devices checksum every line
        parsed = parse_line(line)
        if kind == "sample":
            assert isinstance(parsed, Sample) and (parsed.seq, parsed.t_us) == (seq, t), line
            got = parsed.values
        else:
            assert isinstance(parsed, Prediction), line
            assert (parsed.seq, parsed.latency_us) == (seq, t)
            got = parsed.scores
        np.testing.assert_allclose(got, values.astype(np.float64), rtol=0, atol=5.0001e-5)
        assert all(len(text.split(".")[1]) == 4 for text in line[:-3].split(",")[3:])


def test_extreme_values_stay_parseable_or_are_dropped_honestly(program: Path) -> None:
    requests = [
        f"sample 1 2 {(1e20).hex()} {(-3.5e17).hex()} 0x0p+0",
        f"sample 4294967295 0 {float('nan').hex()}",
        f"prediction 3 4 {float('inf').hex()}",
    ]
    big, nan, inf = run(program, "format", stdin="\n".join(requests) + "\n")
    parsed = parse_line(big)
    assert isinstance(parsed, Sample)
    np.testing.assert_allclose(parsed.values, [1e20, -3.5e17, 0.0], rtol=1e-4)
    # The sketch sends what it has; the host drops non-finite values under their own reason.
    assert isinstance(parse_line(nan), Dropped) and parse_line(nan).reason == "non-finite"
    assert isinstance(parse_line(inf), Dropped) and parse_line(inf).reason == "non-finite"


def test_hello_output_and_error_lines_parse_back(program: Path) -> None:
    labels = ["idle", "wave hand", "a,b", "x=y*z", "", "ü", "punch"]
    hello_request = "hello " + b"nano33ble_rev2".hex() + " 99.84 "
    hello_request += " ".join(label.encode().hex() or "00" for label in labels)
    data = bytes(range(256))
    requests = [
        hello_request,
        f"output 7 {data.hex()}",
        "output 0",
        "error " + "bad\ncommand 'é' *here*".encode().hex(),
    ]
    hello_line, output_line, empty_line, error_line = run(
        program, "format", stdin="\n".join(requests) + "\n"
    )
    hello = parse_line(hello_line)
    assert isinstance(hello, Hello), hello_line
    assert (hello.board, hello.sensor, hello.rate_hz) == ("nano33ble_rev2", "imu", 99.84)
    assert hello.fields == ("ax", "ay", "az", "gx", "gy", "gz")
    assert hello.units == ("g", "g", "g", "dps", "dps", "dps")
    assert hello.labels == ("idle", "wave_hand", "a_b", "x_y_z", "_", "__", "punch")
    assert hello.extra == {"imu": "LSM9DS1", "arena_used": "12345"}
    assert parse_line(output_line) == RawOutput(7, data)
    assert parse_line(empty_line) == RawOutput(0, b"")
    error = parse_line(error_line)
    assert isinstance(error, DeviceError)
    assert error.message == "bad command '??' *here*"


def float32_hex(values: np.ndarray) -> list[str]:
    return [float(v).hex() for v in np.asarray(values, dtype=np.float32)]


def test_quantization_is_bit_exact_with_the_host(program: Path) -> None:
    rng = np.random.default_rng(7)
    n = 3000
    x = rng.normal(0, 3, n).astype(np.float32)
    mean = rng.normal(0, 1, n).astype(np.float32)
    std = rng.uniform(0.05, 4, n).astype(np.float32)
    scale = rng.uniform(0.001, 0.2, n).astype(np.float32)
    zero_point = rng.integers(-128, 128, n)
    # Exact halves: with mean 0, std 1 and scale 0.5, x = k / 4 lands on k / 2.
    x[:200] = np.arange(-100, 100, dtype=np.float32) / 4
    mean[:200], std[:200], scale[:200] = 0.0, 1.0, 0.5
    x[200:220] = [1e9, -1e9, 3e38, -3e38, *np.zeros(16)]  # saturation
    # Near-halves: x / scale lands within an ulp of k + 0.5, where dividing in float32 (as
    # the kernel does) and in float64 can round to different integers.
    k = rng.integers(-100, 100, 600)
    x[220:820] = ((k + 0.5) * scale[220:820].astype(np.float64)).astype(np.float32)
    mean[220:820], std[220:820] = 0.0, 1.0
    stdin = "".join(
        " ".join([*float32_hex([x[i], mean[i], std[i], scale[i]]), str(zero_point[i])]) + "\n"
        for i in range(n)
    )
    device = np.array([int(v) for v in run(program, "quantize", stdin=stdin)])
    with np.errstate(over="ignore"):  # the saturation cases overflow float32 on purpose
        normalized = (x - mean) / std  # float32, as Normalization.apply computes it
        host = np.array(
            [
                quantize(
                    normalized[i : i + 1], TensorInfo("x", (1,), "int8", float(scale[i]), int(zp))
                )[0]
                for i, zp in enumerate(zero_point)
            ]
        )
    np.testing.assert_array_equal(device, host)
    # Halves round away from zero, as TFLM's QUANTIZE does (numpy's round would go to even).
    halves = (x[:200] / 0.5).astype(np.float64)
    expected = np.clip(
        np.sign(halves) * np.floor(np.abs(halves) + 0.5) + zero_point[:200], -128, 127
    )
    np.testing.assert_array_equal(device[:200], expected)


def test_window_quantization_matches_the_host_pipeline(program: Path) -> None:
    rng = np.random.default_rng(3)
    fields = ("ax", "ay", "az", "gx", "gy", "gz")
    requests, expected = [], []
    for case in range(30):
        samples = rng.normal(0, 1, (6, 6)).astype(np.float32) * np.float32([1, 1, 1, 200, 200, 200])
        norm = Normalization.from_values(
            fields, rng.normal(0, 1, (50, 6)) * [1, 1, 1, 150, 150, 150]
        )
        scale, zero_point = float(np.float32(rng.uniform(0.01, 0.1))), int(rng.integers(-20, 20))
        tensor = TensorInfo("window", (1, 4, 6), "int8", scale, zero_point)
        n_norm = 0 if case == 0 else 6
        means = float32_hex(norm.mean) if n_norm else []
        stds = float32_hex(norm.std) if n_norm else []
        requests.append(
            " ".join([float(scale).hex(), str(zero_point), str(n_norm), *means, *stds])
            + " "
            + " ".join(float32_hex(samples.ravel()))
        )
        latest = samples[2:]  # a 4-sample window keeps the last 4 of 6 pushes, oldest first
        x = norm.apply(latest) if n_norm else latest
        expected.append(quantize(x, tensor).ravel())
    lines = run(program, "window", stdin="\n".join(requests) + "\n")
    device = np.array([[int(v) for v in line.split()] for line in lines])
    np.testing.assert_array_equal(device, np.array(expected))
