"""Live latency: from a prediction line leaving the virtual board to the ``LiveSession`` update.

The virtual board runs an exported int8 model (a small untrained conv1d gesture classifier, or
``--export DIR``) through TFLM and streams predictions into a pseudo-terminal. It runs in a
child process (``--serve``) so that the host side competes with nothing but the kernel, as
with a real board; ``--in-process`` runs it on a thread of this process instead.

Method. The board is wrapped so that, right before each chunk of lines is written to the pty
master, ``time.perf_counter_ns()`` is recorded for every prediction sequence number in it. On
Linux ``perf_counter`` is ``CLOCK_MONOTONIC``, one clock for every process, so the child's
stamps compare directly with the host's. The host opens the pty with ``open_link(path)``,
starts a ``LiveSession`` and a ``LiveView`` on it, and subscribes one more callback to the
link after the session's: the link calls subscribers in order on its reader thread, so that
callback runs the moment the session has finished turning the batch into ``LiveUpdate``
objects. Figures:

- line → session update: that callback's time minus the board's write time (target: p99
  under 20 ms);
- line → session receive: ``LiveUpdate.received_at`` (when the session started parsing);
- line → view render: when an observer registered after the view saw the prediction as
  ``session.latest``; the session's notifier caps renders at 20 per second, so this includes
  up to 50 ms of deliberate throttling;
- view refresh rate: ``LiveView.renders`` per second while predictions stream faster than
  the cap (target: at least 10 per second).

Usage: ``.venv/bin/python bench/live_latency.py [--seconds 10] [--speed 4] [--in-process]``
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.live import LiveSession
from tinybench.sim import PtyServer, VirtualBoard
from tinybench.widgets import LiveView
from tinybench.wire import Prediction, open_link

TARGET_P99_MS = 20.0
TARGET_RENDERS_HZ = 10.0
WARMUP_S = 1.0
_PREDICTION_SEQ = re.compile(rb"^p,(\d+),", re.MULTILINE)


class StampedBoard:
    """A :class:`VirtualBoard` whose outgoing prediction lines are time-stamped at the write.

    It stands in for the board given to :class:`PtyServer`, which only calls ``attach``,
    ``handle``, ``unplugged`` and ``close``; everything else is the wrapped board's.
    """

    def __init__(
        self, board: VirtualBoard, clock: Callable[[], int] = time.perf_counter_ns
    ) -> None:
        self.board = board
        self.clock = clock
        self.written: dict[int, int] = {}

    def attach(self, sink: Callable[[bytes], None], on_unplug: Any = None) -> None:
        """Attach the transport's sink, stamping prediction lines on their way out."""

        def stamped(data: bytes) -> None:
            now = self.clock()
            for match in _PREDICTION_SEQ.finditer(data):
                self.written[int(match.group(1))] = now
            sink(data)

        self.board.attach(stamped, on_unplug)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.board, name)


def serve(export_dir: str, speed: float) -> None:
    """Child process: serve the board on a pty, print its path, dump the stamps at the end."""
    board = StampedBoard(VirtualBoard(seed=1, model=export_dir, speed=speed))
    server = PtyServer(board)  # type: ignore[arg-type]
    print(server.path, flush=True)
    try:
        sys.stdin.read()
    finally:
        server.stop()
        print(json.dumps(board.written), flush=True)


def build_export(out: Path) -> Path:
    """Export an untrained int8 conv1d gesture classifier (64 samples x 6 fields, 5 labels)."""
    from tinybench.deploy.export import export_model
    from tinybench.optimize import convert_int8
    from tinybench.train.models import conv1d_classifier

    model = conv1d_classifier((64, 6), 5, 0.5)
    representative = np.random.default_rng(0).normal(size=(128, 64, 6))
    export_model(
        convert_int8(model, representative),
        out,
        "gesture",
        labels=["idle", "wave", "punch", "flex", "circle"],
        window=64,
        sample_rate_hz=119.0,
        normalization={"mean": [0.0] * 6, "std": [1.0] * 6},
    )
    return out


def percentiles(values_ms: list[float]) -> str:
    if not values_ms:
        return "no samples"
    p50, p95, p99 = np.percentile(values_ms, [50, 95, 99])
    return (
        f"p50 {p50:6.2f} ms  p95 {p95:6.2f} ms  p99 {p99:6.2f} ms  max {max(values_ms):6.2f} ms"
        f"  (n={len(values_ms)})"
    )


def measure(path: str, seconds: float) -> dict[str, Any]:
    """Run a session and a view on the pty for ``seconds``; return host-side stamps and counts."""
    updated: dict[int, int] = {}
    received: dict[int, int] = {}
    shown: dict[int, int] = {}
    with open_link(path) as link:
        session = LiveSession(link, history=1000)
        view = LiveView(session)

        def after_session(batch: list) -> None:
            now = time.perf_counter_ns()
            for message in batch:
                if type(message) is Prediction:
                    updated[message.seq] = now

        def after_view(s: LiveSession) -> None:
            latest = s.latest
            if latest is not None and latest.seq not in shown:
                shown[latest.seq] = time.perf_counter_ns()

        session.subscribe(after_view)  # registered after the view's own observer
        session.start()
        link.subscribe(after_session)  # called right after the session's own callback
        time.sleep(WARMUP_S)
        renders0, count0, t0 = view.renders, session.count, time.perf_counter()
        time.sleep(seconds)
        renders1, count1, t1 = view.renders, session.count, time.perf_counter()
        for update in session.recent():
            received[update.seq] = round(update.received_at * 1e9)
        session.stop()
        lost = session.summary().lost
        view.close()
    span = t1 - t0
    return {
        "updated": updated,
        "received": received,
        "shown": shown,
        "renders_hz": (renders1 - renders0) / span,
        "predictions_hz": (count1 - count0) / span,
        "lost": lost,
        "window": (round(t0 * 1e9), round(t1 * 1e9)),
    }


def latencies(written: dict[int, int], host: dict[int, int], window: tuple[int, int]) -> list:
    start, end = window
    return [
        (host[seq] - t) / 1e6 for seq, t in written.items() if seq in host and start <= t <= end
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument(
        "--speed",
        type=float,
        default=4.0,
        help="board pace (4 = 119 Hz x 4, a prediction every 16 samples: ~30 per second)",
    )
    parser.add_argument("--export", help="export folder to serve (default: build a small one)")
    parser.add_argument("--in-process", action="store_true", help="run the board on a thread")
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve, args.speed)
        return

    with tempfile.TemporaryDirectory() as tmp:
        export_dir = Path(args.export) if args.export else build_export(Path(tmp) / "gesture")
        if args.in_process:
            board = StampedBoard(VirtualBoard(seed=1, model=str(export_dir), speed=args.speed))
            server = PtyServer(board)  # type: ignore[arg-type]
            try:
                host = measure(server.path, args.seconds)
            finally:
                server.stop()
            written = board.written
            where = "a thread of this process"
        else:
            child = subprocess.Popen(
                [sys.executable, __file__, "--serve", str(export_dir), "--speed", str(args.speed)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            assert child.stdin is not None and child.stdout is not None
            path = child.stdout.readline().strip()
            try:
                host = measure(path, args.seconds)
            finally:
                child.stdin.close()
                written = {int(k): v for k, v in json.loads(child.stdout.readline()).items()}
                child.wait(timeout=10)
            where = "a child process"

    update_ms = latencies(written, host["updated"], host["window"])
    receive_ms = latencies(written, host["received"], host["window"])
    shown_ms = latencies(written, host["shown"], host["window"])
    p99 = float(np.percentile(update_ms, 99)) if update_ms else float("inf")
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"Virtual board over a pty, served from {where}; {args.seconds:g} s after a")
    rate, lost = host["predictions_hz"], host["lost"]
    print(f"{WARMUP_S:g} s warm-up; {rate:.1f} predictions/s, {lost} lost;")
    print(f"load average {load} on {os.cpu_count()} cores.")
    print(f"line -> session receive : {percentiles(receive_ms)}")
    print(f"line -> session update  : {percentiles(update_ms)}")
    print(f"line -> view render     : {percentiles(shown_ms)}  (renders capped at 20/s)")
    print(f"view refresh rate       : {host['renders_hz']:.1f} renders/s")
    verdict = "PASS" if p99 < TARGET_P99_MS else "FAIL"
    print(f"{verdict}: session update p99 {p99:.2f} ms (target < {TARGET_P99_MS:g} ms)")
    verdict = "PASS" if host["renders_hz"] >= TARGET_RENDERS_HZ else "FAIL"
    print(
        f"{verdict}: view refresh {host['renders_hz']:.1f}/s "
        f"(target >= {TARGET_RENDERS_HZ:g}/s while predictions stream)"
    )


if __name__ == "__main__":
    main()
