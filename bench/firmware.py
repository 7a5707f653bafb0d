"""Firmware in the loop: every reference model built for and run on the emulated Cortex-M4.

For each model in ``../shared/reference_models`` (and ``--export`` folders, for example
notebook 04's ``build/export/gesture``), this exports it, builds the firmware with
arm-none-eabi-g++ and the real TFLM library (CMSIS-NN kernels), boots it in QEMU mps2-an386
and reports:

- flash (text + data) and RAM (data + bss) from ``arm-none-eabi-size``, and the model's share;
- the tensor arena TFLM used on the target (``arena_used_bytes()`` in the hello) beside the
  host interpreter's report of the same (``print_allocations()``);
- instructions per ``Invoke()`` under ``-icount shift=0``, and the estimated ms at 64 MHz
  (Nano 33 BLE) and 120 MHz with the calibrated cycles-per-instruction factor
  (tinybench/emulate/latency.py), next to the published MLPerf Tiny figure where there is one;
- exact-match rate of ``tinybench.validate`` against the host TFLM interpreter;
- build time (object cache in build/tflm-cache; a cold cache compiles the library) and boot
  time (QEMU start to the first hello).

Usage: ``TINYBENCH_TFLM_LIBRARY=../shared/vendor/Chirale_TensorFlowLite
.venv/bin/python bench/firmware.py [--inputs 4] [--export DIR ...]``
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import tinybench
from tinybench.emulate.board import EmulatedBoard
from tinybench.emulate.latency import ANCHORS, CPI, estimate_ms

REPO = Path(__file__).resolve().parents[1]
MODELS = REPO.parent / "shared" / "reference_models"
OUT = REPO / "build" / "bench-firmware"
CACHE = REPO / "build" / "tflm-cache"
PUBLISHED = {anchor.model: anchor.published_ms for anchor in ANCHORS}


def random_inputs(tflite: Path, count: int) -> np.ndarray:
    runner = tinybench.TflmRunner(tflite)
    dtype = np.dtype(runner.input.dtype)
    info = np.iinfo(dtype)
    shape = (count, *runner.input.shape[1:])
    return np.random.default_rng(0).integers(info.min, info.max + 1, shape, dtype=dtype)


def measure(export: Path, inputs: int) -> dict:
    tflite = export / "model.tflite"
    settings = json.loads((export / "model_settings.json").read_text())
    start = time.perf_counter()
    with EmulatedBoard(export, cache_dir=CACHE) as board:
        hello = board.link.request_hello(timeout=20)
        boot = board.qemu.boot_seconds + time.perf_counter() - start - board.build.build_seconds
        report = tinybench.validate(
            board.link, tflite, random_inputs(tflite, inputs), timeout=300, progress=False
        )
        build = board.build
    with EmulatedBoard(export, cache_dir=CACHE, open_link=False) as board:
        _, profile = board.invoke(bytes(random_inputs(tflite, 1)[0].tobytes()), timeout=300)
    return {
        "flash": build.flash_bytes, "model": build.flash_split["model"], "ram": build.ram_bytes,
        "arena_target": int(hello.extra.get("arena_used", 0)),
        "arena_host": int(settings["arena"].get("reported_bytes") or 0),
        "instructions": profile.instructions, "exact": report.exact_match_rate,
        "max_diff": report.max_abs_diff_raw, "build_s": build.build_seconds, "boot_s": boot,
        "caveat": bool(build.caveats), "top_op": next(iter(profile.by_op()), ""),
    }  # fmt: skip


def table(rows: dict[str, dict]) -> str:
    head = (
        f"{'model':<24}{'flash B':>9}{'model B':>9}{'RAM B':>9}{'arena M4':>10}{'host':>9}"
        f"{'instr/inf':>12}{'ms@64MHz':>9}{'ms@120':>8}{'published':>10}{'exact':>7}"
        f"{'build s':>8}{'boot s':>7}"
    )
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        published = f"{PUBLISHED[name]:.0f}" if name in PUBLISHED else "-"
        exact = f"{r['exact']:.0%}" + ("*" if r["caveat"] else "")
        lines.append(
            f"{name:<24}{r['flash']:>9,}{r['model']:>9,}{r['ram']:>9,}{r['arena_target']:>10,}"
            f"{r['arena_host']:>9,}{r['instructions']:>12,}"
            f"{estimate_ms(r['instructions'], 64e6):>9.1f}"
            f"{estimate_ms(r['instructions'], 120e6):>8.1f}{published:>10}{exact:>7}"
            f"{r['build_s']:>8.1f}{r['boot_s']:>7.2f}"
        )
    lines.append(
        f"ms = instructions x {CPI:.3f} cycles/instruction / clock (tinybench/emulate/latency.py);"
        " * = per-channel Dense weights, see tinybench/emulate/caveats.py"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inputs", type=int, default=4, help="validation inputs per model")
    parser.add_argument("--export", type=Path, action="append", default=[], help="export dirs")
    args = parser.parse_args(argv)
    exports = {}
    for model in sorted(MODELS.glob("*.tflite")):
        exports[model.stem] = OUT / model.stem
        if not (OUT / model.stem / "model_settings.json").is_file():
            tinybench.export_model(model, OUT / model.stem, model.stem)
    exports.update({path.name: path for path in args.export})
    rows = {}
    for name, export in exports.items():
        rows[name] = measure(export, args.inputs)
        print(f"{name}: done", file=sys.stderr, flush=True)
    print(table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
