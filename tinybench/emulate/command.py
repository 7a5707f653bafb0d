"""``tinybench emulate``: build firmware for an export, boot it in QEMU, serve its UART.

Kept next to the emulator so ``tinybench/cli.py`` only registers it
(``add_emulate_command(commands)``); it imports nothing heavy until it runs.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

__all__ = ["BOARDS", "add_emulate_command", "run_emulate"]

BOARDS = ("cortex-m4",)
"""Emulated boards ``--board`` accepts."""


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def run_emulate(args: argparse.Namespace) -> int:
    """Build, boot and serve until Ctrl-C; print the pty path on stdout, the rest on stderr."""
    from tinybench.emulate.board import EmulatedBoard

    signal.signal(signal.SIGTERM, _interrupt)  # stop QEMU the same way on SIGTERM as on Ctrl-C
    board = EmulatedBoard(args.export, cache_dir=args.cache_dir, open_link=False)
    with board:
        build = board.build
        print(board.pty, flush=True)
        print(
            f"Emulated {args.board} (QEMU mps2-an386) runs {build.model_name} from {args.export}: "
            f"flash {build.flash_bytes:,} B, RAM {build.ram_bytes:,} B, built in "
            f"{build.build_seconds:.1f} s. Serving on {board.pty}: open it with "
            f"open_link({board.pty!r}) or any serial monitor at 115200 baud. Ctrl-C stops.",
            file=sys.stderr,
            flush=True,
        )
        for caveat in build.caveats:
            print(f"warning: {caveat}", file=sys.stderr, flush=True)
        try:
            while board.qemu is not None and board.qemu.running:
                time.sleep(0.2)
        except KeyboardInterrupt:
            pass
    return 0


def add_emulate_command(commands: argparse._SubParsersAction) -> None:
    """Register ``emulate`` on the ``tinybench`` subcommand parser."""
    emulate = commands.add_parser(
        "emulate", help="build firmware for an export, run it in QEMU and serve it on a pty"
    )
    emulate.add_argument("--board", choices=BOARDS, default="cortex-m4", help="emulated board")
    emulate.add_argument("--export", required=True, help="folder written by export_model")
    emulate.add_argument(
        "--cache-dir", default="build/tflm-cache", help="object cache of the TFLM library"
    )
    emulate.set_defaults(run=run_emulate)
