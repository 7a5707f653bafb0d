"""Capture under faults: randomized interrupted captures at full speed, and what reached disk.

The virtual board streams at full speed (``speed=0``) into a pseudo-terminal served by a child
process (``capture_throughput.py --serve``, the same set-up as ``bench/capture_throughput.py``).
Each of ``--captures`` sessions is recorded by a fresh :class:`~tinybench.capture.Recorder` and
interrupted at a random moment, in a random way:

- ``sigint``: a real SIGINT while ``record()`` waits (Ctrl-C, or "Interrupt kernel");
- ``stop``: ``Recorder.stop()`` from another thread (the widget's Stop button);
- ``unplug``: the link's port fails under the reader, as a pulled cable does.

For each capture it counts the samples the recorder *received* (accepted from the link), the
rows *saved* in the finished CSV, and the samples *lost* between the two, which must be 0; and
checks that the saved sequence numbers are exactly the received ones. A capture's throughput
is the samples received before the interrupt over the time from the start of streaming to the
interrupt; the time from the interrupt to finished files is reported apart.

The yardstick is the bare chunked ``read()`` loop of ``capture_throughput.py`` (reused from
that bench, not copied), on the same pty, counting from the start of streaming as a capture
does, for as long as that capture ran. Bare runs and captures alternate (which one goes first
alternates too), so load from the rest of the machine falls on both alike; the ratio is of the
two medians.

Targets: 0 lost, >= 100,000 samples/s, >= 0.5x the bare chunked loop.

Usage: ``.venv/bin/python bench/capture_faults.py [--captures 50] [--seed 0]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import serial

from tinybench.capture import Recorder
from tinybench.errors import CaptureError
from tinybench.wire.link import open_link

sys.path.insert(0, str(Path(__file__).resolve().parent))
from capture_throughput import measure_chunked  # the bare loop, reused

WAYS = ("sigint", "stop", "unplug")


def _unplug(link) -> None:
    """Make the link's next read fail as a closed pty does."""

    def read(_size: int = 1) -> bytes:
        raise serial.SerialException("device reports readiness to read but returned no data")

    link.port.read = read


def one_capture(path: str, root: Path, index: int, way: str, after_s: float) -> dict:
    """Record one session, interrupt it ``after_s`` seconds in, and compare received and saved."""
    at_interrupt, interrupted_at = [0], [0.0]
    with open_link(path) as link:
        recorder = Recorder(link, "faults", root)

        def interrupt() -> None:
            interrupted_at[0] = time.perf_counter()
            at_interrupt[0] = recorder.samples  # received before the interrupt
            if way == "sigint":
                os.kill(os.getpid(), signal.SIGINT)
            elif way == "unplug":
                _unplug(link)
            else:
                with contextlib.suppress(CaptureError):
                    recorder.stop()

        timer = threading.Timer(after_s, interrupt)
        recorder.start("wave")  # the board streams from here on
        started = time.perf_counter()
        timer.start()
        with contextlib.suppress(KeyboardInterrupt, CaptureError):  # an unplug raises
            recorder.wait()  # as record() does: a SIGINT here finishes as "interrupted"
        finished = time.perf_counter()
        timer.join()
        session = recorder.last_session
    seqs = session.to_frame()["seq"].tolist() if session is not None else []
    received = max(at_interrupt[0], session.samples if session is not None else 0)
    return {
        "index": index,
        "way": way,
        "after_s": after_s,
        "at_interrupt": at_interrupt[0],
        "received": received,
        "saved": len(seqs),
        "lost": received - len(seqs),
        "gaps": int(bool(seqs) and seqs != list(range(seqs[0], seqs[0] + len(seqs)))),
        "ended": session.meta["ended"] if session is not None else "-",
        "rate": at_interrupt[0] / (interrupted_at[0] - started),
        "finish_s": finished - interrupted_at[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--captures", type=int, default=50, help="interrupted captures to run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random interrupts")
    args = parser.parse_args()
    if args.captures < 1:
        parser.error(f"--captures must be at least 1, got {args.captures}")
    rng = random.Random(args.seed)
    serve = Path(__file__).resolve().parent / "capture_throughput.py"
    child = subprocess.Popen(
        [sys.executable, str(serve), "--serve", "--seed", "1"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    results, bare_rates = [], []
    try:
        path = child.stdout.readline().strip()
        with tempfile.TemporaryDirectory() as root:
            for index in range(args.captures):
                way, after_s = rng.choice(WAYS), rng.uniform(0.05, 0.6)
                if index % 2:
                    results.append(one_capture(path, Path(root), index, way, after_s))
                bare_rates.append(measure_chunked(path, after_s, warmup=0.0)[0])
                if not index % 2:
                    results.append(one_capture(path, Path(root), index, way, after_s))
    finally:
        child.stdin.close()
        child.wait(timeout=10)
    report(results, bare_rates)


def median(values: list[float]) -> float:
    """The median (the mean of the middle two for an even count)."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return (ordered[middle] + ordered[~middle]) / 2 if ordered else 0.0


def report(results: list[dict], bare_rates: list[float]) -> None:
    """Print one line per capture, the totals and the targets."""
    print(
        f"{'#':>3} {'way':<7} {'after s':>7} {'at stop':>9} {'received':>9} {'saved':>9} "
        f"{'lost':>5} {'ended':<12} {'samples/s':>10} {'finish ms':>9} {'bare/s':>10}"
    )
    for r, bare in zip(results, bare_rates, strict=True):
        print(
            f"{r['index']:>3} {r['way']:<7} {r['after_s']:>7.2f} {r['at_interrupt']:>9,} "
            f"{r['received']:>9,} {r['saved']:>9,} {r['lost']:>5} {r['ended']:<12} "
            f"{r['rate']:>10,.0f} {r['finish_s'] * 1000:>9.0f} {bare:>10,.0f}"
        )
    received = sum(r["received"] for r in results)
    saved = sum(r["saved"] for r in results)
    lost = sum(r["lost"] for r in results)
    gaps = sum(r["gaps"] for r in results)
    capture, bare = median([r["rate"] for r in results]), median(bare_rates)
    print(
        f"\n{len(results)} interrupted captures: {received:,} samples received, {saved:,} saved, "
        f"{lost:,} lost; {gaps} sessions with a gap in their sequence numbers"
    )
    print(
        f"median capture throughput {capture:,.0f} samples/s (interrupt to finished files: "
        f"median {median([r['finish_s'] for r in results]) * 1000:.0f} ms); bare chunked read() "
        f"loop, interleaved: median {bare:,.0f} samples/s; ratio of medians {capture / bare:.2f}x"
    )
    checks = {
        "0 samples lost": lost == 0 and gaps == 0,
        ">= 100,000 samples/s": capture >= 100_000,
        ">= 0.5x the bare chunked read() loop": capture >= 0.5 * bare,
    }
    for name, ok in checks.items():
        print(f"target {name}: {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
