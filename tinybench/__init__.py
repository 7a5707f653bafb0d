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
    "parse_line": "protocol",
    "Hello": "protocol",
    "Sample": "protocol",
    "Prediction": "protocol",
    "open_link": "link",
    "find_boards": "link",
    "choose_port": "link",
    "Link": "link",
    "VIRTUAL_BOARD_URL": "link",
    # virtual board
    "GestureSynth": "synth",
    "VirtualBoard": "sim",
    "serve_pty": "pty_server",
    # capture and data
    "Recorder": "capture",
    "record_dataset": "capture",
    "Session": "sessions",
    "validate_name": "sessions",
    "Dataset": "dataset",
    "prepare": "dataset",
    "check_environment": "environment",
    # training and optimization
    "fit": "train",
    "Variant": "optimize",
    "Recipe": "optimize",
    "make_variant": "optimize",
    "Profile": "profile",
    "read_model": "tflite_model",
    "TflmRunner": "tflm",
    "check_budget": "budget",
    "run_sweep": "sweep",
    "SweepGrid": "sweep",
    "plot_tradeoff": "plots",
    # deployment
    "export_model": "export",
    "load_exported": "export",
    "render_sketch": "sketch",
    "ArduinoCli": "arduino",
    "CompileResult": "arduino",
    "deploy": "deploy",
    "LiveSession": "live",
    "validate": "validation",
    "ValidationReport": "validation",
    # widgets and notebooks
    "CapturePanel": "widgets",
    "LiveView": "widgets",
    "run_notebook": "notebook_runner",
    "run_demo": "demo",
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
