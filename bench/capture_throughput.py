"""Capture throughput: tinybench's reader against bare pyserial loops, through a real pty.

The virtual board runs in a child process (``--serve``), streaming at full speed (``speed=0``)
into a pseudo-terminal, so the reader in this process competes with nothing but the kernel.
Each reader gets the same stream for the same time:

(a) tinybench: ``open_link(path)``; samples/s, lost samples and dropped lines from
    ``link.stats`` (parsed, checksummed and sequence-tracked);
(b) a bare ``serial_for_url(path).readline()`` loop (one system call per byte);
(c) a bare chunked ``read(max(1, in_waiting))`` + ``split`` loop, for context (no parsing).

It also measures the virtual board alone, without any I/O, to show the source is not the
bottleneck. Targets: tinybench >= 100,000 samples/s with zero loss, and >= 0.8x loop (b).

Usage: ``.venv/bin/python bench/capture_throughput.py [--seconds 5] [--profile]``
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import time

import serial

from tinybench.sim import VirtualBoard, run_simulator
from tinybench.wire import open_link

WARMUP_S = 0.5


def serve(seed: int) -> None:
    """Child process: serve the board on a pty, print its path, run until stdin closes."""
    server = run_simulator(seed=seed, speed=0)
    print(server.path, flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()


def measure_board_alone(seconds: float) -> float:
    """Lines/s the virtual board formats into a sink that only counts bytes."""
    counted = [0]

    def sink(data: bytes) -> None:
        counted[0] += data.count(b"\n")

    board = VirtualBoard(seed=2, speed=0)
    board.attach(sink)
    board.handle("c")
    time.sleep(WARMUP_S)
    start, before = time.perf_counter(), counted[0]
    time.sleep(seconds)
    rate = (counted[0] - before) / (time.perf_counter() - start)
    board.close()
    return rate


def measure_link(path: str, seconds: float, profile: bool) -> dict[str, float]:
    """Samples/s, lost samples and dropped lines for tinybench's reader."""
    link = open_link(path)
    link.request_hello()
    link.send("c")
    time.sleep(WARMUP_S)
    stats = link.stats
    profiler = cProfile.Profile() if profile else None
    start, samples0, lost0 = time.perf_counter(), stats.samples, stats.lost_samples
    dropped0, cpu0 = stats.dropped_lines, time.process_time()
    if profiler is not None:
        # the reader runs in its own thread: profile it by wrapping its batch handler
        handle = link._handle

        def profiled(lines: list[str]) -> None:
            profiler.runcall(handle, lines)

        link._handle = profiled  # type: ignore[method-assign]
    time.sleep(seconds)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu0
    result = {
        "samples_per_s": (stats.samples - samples0) / elapsed,
        "per_cpu_s": (stats.samples - samples0) / cpu,
        "lost": stats.lost_samples - lost0,
        "dropped": stats.dropped_lines - dropped0,
        "restarts": stats.restarts,
    }
    link.close()
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(15)
        print(out.getvalue())
    return result


def measure_readline(path: str, seconds: float) -> tuple[float, float]:
    """Sample lines per second and per CPU second through a bare ``readline()`` loop."""
    port = serial.serial_for_url(path, timeout=1.0)
    port.write(b"c\n")
    deadline = time.perf_counter() + WARMUP_S
    while time.perf_counter() < deadline:
        port.readline()
    count, start, cpu0 = 0, time.perf_counter(), time.process_time()
    end = start + seconds
    while (now := time.perf_counter()) < end:
        for _ in range(100):
            if port.readline().startswith(b"s,"):
                count += 1
    rates = count / (now - start), count / (time.process_time() - cpu0)
    port.write(b"x\n")
    port.close()
    return rates


def measure_chunked(path: str, seconds: float, warmup: float = WARMUP_S) -> tuple[float, float]:
    """Sample lines per second and per CPU second through a bare chunked read + split loop.

    Counting starts ``warmup`` seconds after the board was told to stream.
    """
    port = serial.serial_for_url(path, timeout=0.05)
    port.write(b"c\n")
    partial, count, cpu0 = b"", 0, None
    counting_from = time.perf_counter() + warmup
    end = counting_from + seconds
    while (now := time.perf_counter()) < end:
        *lines, partial = (partial + port.read(max(1, port.in_waiting))).split(b"\n")
        if now >= counting_from:
            cpu0 = time.process_time() if cpu0 is None else cpu0
            count += sum(1 for line in lines if line.startswith(b"s,"))
    rates = count / (now - counting_from), count / (time.process_time() - cpu0)
    port.write(b"x\n")
    port.close()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="measuring time per reader")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--profile", action="store_true", help="cProfile tinybench's reader")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.seed)
        return

    board_rate = measure_board_alone(min(args.seconds, 2.0))
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--seed", str(args.seed)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        path = child.stdout.readline().strip()
        link = measure_link(path, args.seconds, args.profile)
        readline = measure_readline(path, args.seconds)
        chunked = measure_chunked(path, args.seconds)
    finally:
        child.stdin.close()
        child.wait(timeout=10)

    tinybench_rate = link["samples_per_s"]
    (readline_rate, readline_cpu), (chunked_rate, chunked_cpu) = readline, chunked
    print(f"capture throughput through a pty ({path}), {args.seconds:g} s per reader")
    print(
        "samples/s is wall-clock throughput; per CPU-s divides by this process's CPU time, "
        "what one free core would reach (robust to other load on the machine)"
    )
    print(f"{'reader':<40} {'samples/s':>10} {'per CPU-s':>10} {'lost':>5} {'dropped':>8}")
    print(f"{'virtual board alone (no I/O)':<40} {board_rate:>10,.0f} {'-':>10} {'-':>5} {'-':>8}")
    print(
        f"{'(a) tinybench open_link() reader':<40} {tinybench_rate:>10,.0f} "
        f"{link['per_cpu_s']:>10,.0f} {link['lost']:>5.0f} {link['dropped']:>8.0f}"
    )
    print(
        f"{'(b) bare pyserial readline() loop':<40} {readline_rate:>10,.0f} "
        f"{readline_cpu:>10,.0f} {'-':>5} {'-':>8}"
    )
    print(
        f"{'(c) bare read(in_waiting) + split loop':<40} {chunked_rate:>10,.0f} "
        f"{chunked_cpu:>10,.0f} {'-':>5} {'-':>8}"
    )
    print(
        f"ratio (a)/(b): {tinybench_rate / readline_rate:.1f}x   "
        f"(a)/(c): {tinybench_rate / chunked_rate:.2f}x"
    )
    checks = {
        ">= 100,000 samples/s": tinybench_rate >= 100_000,
        "zero lost samples": link["lost"] == 0 and link["dropped"] == 0,
        ">= 0.8x the bare readline() loop": tinybench_rate >= 0.8 * readline_rate,
    }
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
