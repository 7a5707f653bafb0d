"""The ``tinybench`` command line: thin layers over the library's functions.

Each subcommand parses its flags, calls one function from the library and prints the result.
Heavy modules are imported inside the commands, so ``tinybench --help`` stays fast.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from tinybench.errors import TinybenchError

__all__ = ["build_parser", "main"]


def _cmd_ports(args: argparse.Namespace) -> int:
    from tinybench.link import VIRTUAL_BOARD_URL, list_ports_seen

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
    from tinybench.pty_server import run_simulator

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


def _cmd_capture(args: argparse.Namespace) -> int:
    from tinybench.capture import Recorder
    from tinybench.link import open_link

    with open_link(args.port) as link:
        recorder = Recorder(link, dataset=args.dataset, data_dir=args.data_dir)
        for _ in range(args.sessions):
            session = recorder.record(args.label, seconds=args.seconds, samples=args.samples)
            print(
                f"{session.path}: {session.samples} samples, {session.lost_samples} lost, "
                f"{sum(session.dropped_lines.values())} dropped lines, "
                f"{session.measured_rate_hz or 0:.1f} Hz"
            )
    return 0


def _cmd_profile(args: argparse.Namespace) -> int:
    from tinybench.profile import profile

    result = profile(Path(args.model), args.board)
    print(result.summary())
    return 0


def _cmd_export(args: argparse.Namespace) -> int:
    from tinybench.export import export_model

    exported = export_model(Path(args.model), args.out, args.name, labels=args.labels)
    print(f"Exported {args.model} to {exported.out_dir}")
    for path in sorted(Path(exported.out_dir).iterdir()):
        print(f"  {path.name:<22} {path.stat().st_size:>9,} bytes")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from tinybench.demo import run_demo

    report = run_demo(
        notebooks_dir=args.notebooks,
        build_dir=args.build_dir,
        quick=args.quick,
        only=args.only,
    )
    print(report.summary())
    return 0 if report.ok else 1


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

    capture = commands.add_parser("capture", help="record labelled sessions into data/")
    capture.add_argument("--port", required=True, help="device path or URL, e.g. sim://nano33ble")
    capture.add_argument("--label", required=True, help="gesture label, e.g. wave")
    capture.add_argument("--seconds", type=float, default=None, help="length of each session")
    capture.add_argument("--samples", type=int, default=None, help="samples per session")
    capture.add_argument("--sessions", type=int, default=1, help="how many sessions to record")
    capture.add_argument("--dataset", default="gestures", help="dataset name (default gestures)")
    capture.add_argument("--data-dir", default="data", help="root of datasets (default data)")
    capture.set_defaults(run=_cmd_capture)

    prof = commands.add_parser("profile", help="measure a .tflite in TFLM for a board")
    prof.add_argument("model", help="path to a .tflite file")
    prof.add_argument("--board", default="nano33ble", help="board profile (default nano33ble)")
    prof.set_defaults(run=_cmd_profile)

    export = commands.add_parser("export", help="write a .tflite as C source for a sketch")
    export.add_argument("model", help="path to a .tflite file")
    export.add_argument("--out", default="build/export/model", help="output folder")
    export.add_argument("--name", default="model", help="C identifier for the model")
    export.add_argument("--labels", nargs="*", default=None, help="output labels, in order")
    export.set_defaults(run=_cmd_export)

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
