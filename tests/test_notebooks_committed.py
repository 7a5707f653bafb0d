"""Every notebook is committed as a student should open it: valid, without outputs, no logic.

One test for all of notebooks/: valid nbformat (cell ids included, with warnings as errors),
at most one ``parameters`` cell, code cells without outputs and without functions, classes,
loops or branches (a cell is prose plus one call), and prose at least every two code cells.
"""

from __future__ import annotations

import ast
import warnings
from pathlib import Path

import nbformat
import pytest
from notebook_cells import code_cells

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
LOGIC = (
    ast.FunctionDef,
    ast.ClassDef,
    ast.For,
    ast.While,
    ast.If,
    ast.Try,
    ast.Lambda,
    ast.comprehension,
)


def test_the_notebooks_are_all_found() -> None:
    assert [p.name[:3] for p in NOTEBOOKS] == [
        "00_",
        "01_",
        "02_",
        "03_",
        "03b",
        "04_",
        "05_",
        "06_",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_committed_without_outputs_and_without_logic(path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing cell id is only a warning in nbformat 5
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
    tagged = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) <= 1
    for cell in code_cells(nb):
        assert cell.outputs == [] and cell.execution_count is None
        logic = [type(n).__name__ for n in ast.walk(ast.parse(cell.source)) if isinstance(n, LOGIC)]
        assert logic == [], cell.source
    for first, second, third in zip(nb.cells, nb.cells[1:], nb.cells[2:], strict=False):
        kinds = {first.cell_type, second.cell_type, third.cell_type}
        assert kinds != {"code"}, f"three code cells without prose, from: {first.source}"
