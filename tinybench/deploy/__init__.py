"""Deployment: the model as C source, the rendered sketch, arduino-cli, and the step that ties them.

``c_source`` writes the C++ text, ``export`` writes an export folder as one unit (its arguments
checked by ``export_inputs``), ``exported`` reads one back with every file checked, ``sketch``
renders ``arduino_sketches/`` for a board, ``arduino`` wraps arduino-cli (``arduino_argv`` builds
its command lines, ``arduino_process`` runs them, ``arduino_output`` and ``arduino_schema`` read
its JSON, ``arduino_errors`` turns failures into errors), and ``workflow`` checks the budget,
then compiles and uploads or says what it would run.
"""

from tinybench.deploy.arduino import ArduinoCli
from tinybench.deploy.arduino_argv import find_arduino_cli
from tinybench.deploy.arduino_output import CompileResult, Diagnostic, UploadResult
from tinybench.deploy.export import export_model
from tinybench.deploy.exported import ExportedModel, load_exported
from tinybench.deploy.sketch import SketchConfig, render_sketch, sketch_config
from tinybench.deploy.workflow import (
    Deployment,
    ExportSummary,
    deploy,
    export_summary,
    load_chosen_variant,
)

__all__ = [
    "ArduinoCli",
    "CompileResult",
    "Deployment",
    "Diagnostic",
    "ExportSummary",
    "ExportedModel",
    "SketchConfig",
    "UploadResult",
    "deploy",
    "export_model",
    "export_summary",
    "find_arduino_cli",
    "load_chosen_variant",
    "load_exported",
    "render_sketch",
    "sketch_config",
]
