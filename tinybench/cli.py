"""The ``tinybench`` command line: thin layers over the library's functions.

Each subcommand parses its flags, calls one function from the library and prints the result.
Heavy modules are imported inside the commands, so ``tinybench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import math
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tinybench.errors import TinybenchError

__all__ = ["build_parser", "main"]


def _cmd_ports(args: argparse.Namespace) -> int:
    from tinybench.wire import VIRTUAL_BOARD_URL, list_ports_seen

    seen = list_ports_seen()
    if not seen:
        print("No serial ports found.")
    for found in seen:
        name = found.board.title if found.board else "-"
        ids = f"{found.vid:04X}:{found.pid:04X}" if found.vid is not None else "    -    "
        print(f"{found.port:<22} {ids}  {name:<44} {found.description}")
    if not any(found.board for found in seen):
        print(f"No Arduino-family board recognised. The virtual board is {VIRTUAL_BOARD_URL}")
    return 0


def _cmd_boards(args: argparse.Namespace) -> int:
    from tinybench.boards import list_boards

    print(f"{'name':<20} {'flash':>10} {'RAM':>9} {'clock':>8}  {'TFLM':<4}  fqbn")
    for board in list_boards():
        print(
            f"{board.name:<20} {board.flash_bytes:>10,} {board.ram_bytes:>9,} "
            f"{board.clock_hz / 1e6:>5.0f}MHz  {'yes' if board.tflm else 'no':<4}  {board.fqbn}"
        )
    return 0


def _cmd_simulate(args: argparse.Namespace) -> int:
    from tinybench.sim.pty import run_simulator

    server = run_simulator(board=args.board, seed=args.seed, model=args.model, speed=args.speed)
    print(server.path, flush=True)
    print(
        f"Virtual {args.board} (seed {args.seed}) is serving on {server.path}. Open it with "
        f"open_link({str(server.path)!r}) or any serial monitor at 115200 baud. Ctrl-C stops.",
        file=sys.stderr,
        flush=True,
    )
    try:
        while server.alive:
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM, turned into an interrupt so a capture finishes its session the same way."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise _Terminated()


def _cmd_capture(args: argparse.Namespace) -> int:
    from tinybench.capture import Recorder
    from tinybench.errors import ConfigError
    from tinybench.wire.link import open_link

    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        with open_link(args.port) as link:
            recorder = Recorder(
                link, dataset=args.dataset, data_dir=args.data_dir, rate_hz=args.rate_hz
            )
            if args.seconds is None and args.samples is None:
                raise ConfigError("capture needs a length: give --seconds or --samples.")
            for session in recorder.recovered:
                print(f"{session.path}: recovered {session.samples} samples of an earlier capture")
            return _capture_sessions(recorder, args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _capture_sessions(recorder: Any, args: argparse.Namespace) -> int:
    """Record ``args.sessions`` sessions; an interrupt finishes the current one and stops."""
    from tinybench.errors import CaptureError

    for _ in range(args.sessions):
        try:
            session = recorder.record(args.label, seconds=args.seconds, samples=args.samples)
        except KeyboardInterrupt as stop:
            how = "terminated" if isinstance(stop, _Terminated) else "interrupted"
            if (session := recorder.last_session) is not None:
                print(f"{session.path}: {session.samples} samples, {how} (ended: interrupted)")
            print(f"tinybench capture: {how}; the session so far is kept.", file=sys.stderr)
            return 143 if isinstance(stop, _Terminated) else 130
        except CaptureError as exc:
            if recorder.unsaved_samples:  # the library's advice (retry_save) is for Python
                raise CaptureError(
                    f"Could not finish the session in {recorder.folder / args.label}: "
                    f"{exc.__cause__}. What was written so far stays there as a hidden "
                    "partial session. Free some space or fix the permissions, then run the "
                    "same `tinybench capture` command again: it recovers that session first."
                ) from exc
            raise
        print(
            f"{session.path}: {session.samples} samples, {session.lost_samples} lost, "
            f"{sum(session.dropped_lines.values())} dropped lines, "
            f"{session.measured_rate_hz or 0:.1f} Hz, ended: {session.meta['ended']}"
        )
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from tinybench.emulate.footprint import target_footprint
    from tinybench.measure.profile import profile

    target = target_footprint(Path(args.model), args.board) if args.target else None
    result = profile(Path(args.model), args.board, target=target)
    print(result.summary())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tinybench.deploy.export import export_model

    exported = export_model(Path(args.model), args.out, args.name, labels=args.labels)
    print(f"Exported {args.model} to {exported.out_dir}")
    for path in sorted(Path(exported.out_dir).iterdir()):
        print(f"  {path.name:<22} {path.stat().st_size:>9,} bytes")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tinybench.lab.demo import run_demo

    # papermill cannot parse `PORT = "sim://…?seed=1"` (two `=`), so it warns that it cannot
    # read the line and that PORT is unknown. The demo injects only the parameters tinybench
    # found itself (lab.notebooks.declared_parameters), so both warnings are noise.
    logging.getLogger("papermill").setLevel(logging.ERROR)
    report = run_demo(
        notebooks_dir=args.notebooks,
        build_dir=args.build_dir,
        quick=args.quick,
        only=args.only,
        progress=lambda event: print(event.line(), flush=True),
    )
    print()
    print(report.summary())
    return 0 if report.ok else 1


def _export_folder(text: str) -> str:
    """``--out``: a folder path that is not empty (an empty one means the current folder)."""
    if not text.strip():
        raise argparse.ArgumentTypeError(
            f"the export folder is {text!r}, an empty path, which would export into the "
            "current folder; pass a folder such as build/export/gesture"
        )
    return text


def _add_model_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``profile`` and ``export``: the commands that take a ``.tflite``."""
    prof = commands.add_parser("profile", help="measure a .tflite in TFLM for a board")
    prof.add_argument("model", help="path to a .tflite file")
    prof.add_argument("--board", default="nano33ble", help="board profile (default nano33ble)")
    prof.add_argument(
        "--target",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="on a Cortex-M4 board, build and run the firmware in QEMU for linked sizes and "
        "latency when the toolchain is installed (default); --no-target keeps the estimates",
    )
    prof.set_defaults(run=_cmd_profile)

    export = commands.add_parser("export", help="write a .tflite as C source for a sketch")
    export.add_argument("model", help="path to a .tflite file")
    export.add_argument(
        "--out", type=_export_folder, default="build/export/model", help="output folder"
    )
    export.add_argument("--name", default="model", help="C identifier for the model")
    export.add_argument("--labels", nargs="*", default=None, help="output labels, in order")
    export.set_defaults(run=_cmd_export)


def _positive_number(text: str) -> float:
    """A finite number above 0 (``--seconds``, ``--rate-hz``)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number above 0, e.g. 2.5")
    return value


def _positive_count(text: str) -> int:
    """A whole number of at least 1 (``--samples``, ``--sessions``)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1, e.g. 3")
    return value


def _path_text(text: str) -> str:
    """A path or URL that is not empty."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is empty; give a path")
    return text


def _add_capture_command(commands: argparse._SubParsersAction) -> None:
    """Add ``capture``: record labelled sessions from a board."""
    capture = commands.add_parser("capture", help="record labelled sessions into data/")
    capture.add_argument(
        "--port", required=True, type=_path_text, help="device path or URL, e.g. sim://nano33ble"
    )
    capture.add_argument("--label", required=True, help="gesture label, e.g. wave")
    capture.add_argument(
        "--seconds", type=_positive_number, default=None, help="length of each session"
    )
    capture.add_argument(
        "--samples", type=_positive_count, default=None, help="samples per session"
    )
    capture.add_argument(
        "--sessions", type=_positive_count, default=1, help="how many sessions to record"
    )
    capture.add_argument(
        "--rate-hz",
        type=_positive_number,
        default=None,
        help="sample rate of a stream that does not announce one (plain CSV); by default "
        "measured on the host",
    )
    capture.add_argument("--dataset", default="gestures", help="dataset name (default gestures)")
    capture.add_argument(
        "--data-dir", type=_path_text, default="data", help="root of datasets (default data)"
    )
    capture.set_defaults(run=_cmd_capture)


def _cmd_import(args: argparse.Namespace) -> int:
    from tinybench import dataset

    if args.format == "imu-capture":
        found = dataset.import_imu_capture(args.source, args.dataset, args.data_dir, args.rate_hz)
    elif args.format == "edge-impulse":
        found = dataset.import_edge_impulse_csv(args.source, args.dataset, args.data_dir)
    else:
        found = dataset.import_class(args.source, args.dataset, args.data_dir)
    labels = sorted({s.label for s in found})
    print(f"{len(found)} sessions in {Path(args.data_dir) / args.dataset} (labels {labels})")
    return 0


def _add_import_command(commands: argparse._SubParsersAction) -> None:
    """Add ``import``: IMU_Capture or Edge Impulse CSV files, or a class's datasets."""
    imp = commands.add_parser(
        "import", help="import CSV files or a class's datasets (docs/teaching.md)"
    )
    imp.add_argument("format", choices=("imu-capture", "edge-impulse", "class"))
    imp.add_argument(
        "source", type=_path_text, help="folder of .csv files, or of the students' datasets"
    )
    imp.add_argument("--dataset", default="imported", help="dataset name (default imported)")
    imp.add_argument("--data-dir", type=_path_text, default="data", help="root of datasets")
    imp.add_argument("--rate-hz", type=_positive_number, default=119.0, help="imu-capture rate")
    imp.set_defaults(run=_cmd_import)


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``tinybench`` command."""
    parser = argparse.ArgumentParser(
        prog="tinybench",
        description="Offline TinyML workbench: capture, train, optimize, export, deploy, watch.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ports = commands.add_parser("ports", help="list serial ports and the boards recognised")
    ports.set_defaults(run=_cmd_ports)

    boards = commands.add_parser("boards", help="list the board profiles")
    boards.set_defaults(run=_cmd_boards)

    simulate = commands.add_parser(
        "simulate", help="serve the virtual board on a pseudo-terminal and print its path"
    )
    simulate.add_argument("--board", default="nano33ble", help="board profile (default nano33ble)")
    simulate.add_argument("--seed", type=int, default=1, help="seed of the synthetic sensor")
    simulate.add_argument("--model", default=None, help="export folder to run on 'i' and 'v'")
    simulate.add_argument(
        "--speed", type=float, default=1.0, help="1 = real time, 0 = as fast as possible"
    )
    simulate.set_defaults(run=_cmd_simulate)

    _add_capture_command(commands)
    _add_import_command(commands)
    _add_model_commands(commands)

    from tinybench.emulate.command import add_emulate_command

    add_emulate_command(commands)

    demo = commands.add_parser(
        "demo", help="run every notebook in order on the virtual board and print a summary"
    )
    demo.add_argument("--notebooks", default="notebooks", help="folder of the notebooks")
    demo.add_argument("--build-dir", default="build/demo", help="where outputs go")
    demo.add_argument("--quick", action="store_true", help="CI-sized settings")
    demo.add_argument("--only", nargs="*", default=None, help="run only these notebooks")
    demo.set_defaults(run=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tinybench`` command line and return its exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.run(args)
    except TinybenchError as exc:
        print(f"tinybench {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
