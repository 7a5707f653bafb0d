"""The package surface: every public name resolves, and the light modules stay light."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tinybench


@pytest.mark.parametrize("name", tinybench.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(tinybench, name) is not None


def test_unknown_names_raise_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_thing"):
        _ = tinybench.no_such_thing


@pytest.mark.parametrize(
    "module",
    [
        "tinybench",
        "tinybench.wire.protocol",
        "tinybench.wire.link",
        "tinybench.capture.recorder",
        "tinybench.deploy.export",
        "tinybench.boards",
        "tinybench.sim.board",
        "tinybench.dataset.loading",
        "tinybench.cli",
    ],
)
def test_light_modules_do_not_import_tensorflow(module: str) -> None:
    code = f"import sys, {module}; print('tensorflow' in sys.modules, 'tf_keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
