"""tinybench: an offline, vendor-neutral Jupyter workbench for TinyML.

Capture sensor data from a board (or the virtual board), train small Keras models, quantize and
prune them while measuring the bytes that really land in flash and RAM, export them as C arrays
with a generated Arduino sketch, compile and upload with arduino-cli, and watch live predictions.

Importing ``tinybench`` is light: names are loaded from their modules on first use, and
TensorFlow is only imported by the functions that need it.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # boards and errors
    "Board": "boards",
    "get_board": "boards",
    "list_boards": "boards",
    "TinybenchError": "errors",
    # wire and link
    "parse_line": "wire",
    "Hello": "wire",
    "Sample": "wire",
    "Prediction": "wire",
    "open_link": "wire",
    "find_boards": "wire",
    "choose_port": "wire",
    "Link": "wire",
    "VIRTUAL_BOARD_URL": "wire",
    # virtual board
    "GestureSynth": "sim",
    "VirtualBoard": "sim",
    "serve_pty": "sim",
    # capture and data
    "Recorder": "capture",
    "record_dataset": "capture",
    "Session": "capture",
    "validate_name": "capture",
    "Dataset": "dataset",
    "prepare": "dataset",
    "check_environment": "lab",
    # training and optimization
    "fit": "train",
    "Variant": "optimize",
    "Recipe": "optimize",
    "make_variant": "optimize",
    "Profile": "measure",
    "read_model": "measure",
    "TflmRunner": "measure",
    "check_budget": "measure",
    "run_sweep": "sweep",
    "SweepGrid": "sweep",
    "plot_tradeoff": "sweep",
    # deployment
    "export_model": "deploy",
    "load_exported": "deploy",
    "render_sketch": "deploy",
    "ArduinoCli": "deploy",
    "CompileResult": "deploy",
    "LiveSession": "live",
    "validate": "live",
    "ValidationReport": "live",
    # widgets and notebooks
    "CapturePanel": "widgets",
    "LiveView": "widgets",
    "run_notebook": "lab",
    "run_demo": "lab",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'tinybench' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"tinybench.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
