"""The real .tflite models in shared/reference_models, and the figures its README states.

CI clones the repo next to ``shared/``. Tests reach the folder through the
``reference_models_dir`` fixture (tests/conftest.py), which skips when it is absent.
"""

from __future__ import annotations

import re
from pathlib import Path

REFERENCE_MODELS = Path(__file__).resolve().parents[2] / "shared" / "reference_models"

MODELS = [
    "hello_world_int8.tflite",
    "micro_speech_quantized.tflite",
    "kws_ref_model.tflite",
    "pretrainedResnet_quant.tflite",
    "ad01_int8.tflite",
    "vww_96_int8.tflite",
]
"""The six reference models, smallest first: parametrize tests over them by name."""


def builtin_op_names() -> set[str]:
    """Every builtin op name in the TFLite schema (``FULLY_CONNECTED``, ``CONV_2D``, ...)."""
    from ai_edge_litert import schema_py_generated as schema

    return {k for k in vars(schema.BuiltinOperator) if not k.startswith("_")}


def readme_rows(models_dir: Path) -> dict[str, dict]:
    """Parse the reference models README table: bytes, ops named in it, weights, arena.

    ``arena`` is the "TFLM arena measured on x86-64 host" column.
    """
    builtin = builtin_op_names()
    rows = {}
    for line in (models_dir / "README.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 5 or not cells[0].endswith(".tflite"):
            continue
        weights = re.search(r"([\d,]+) bytes of weights", cells[3])
        rows[cells[0]] = {
            "bytes": int(cells[2].replace(",", "")),
            "ops": {t for t in re.findall(r"\b[A-Z][A-Z0-9_]+\b", cells[3]) if t in builtin},
            "weight_bytes": int(weights.group(1).replace(",", "")) if weights else None,
            "arena": int(cells[4].replace(",", "")),
        }
    return rows
