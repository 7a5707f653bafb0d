"""Reading an executed notebook's code cells and what they displayed."""

from __future__ import annotations

import nbformat


def text_of(cell: nbformat.NotebookNode) -> str:
    """Everything a cell printed or displayed, as text: streams and every mimetype's data."""
    parts = []
    for output in cell.get("outputs", []):
        parts.append(output.get("text", ""))
        parts.extend(str(value) for value in output.get("data", {}).values())
    return "\n".join(parts)


def code_cells(nb: nbformat.NotebookNode) -> list:
    """Code cells, without the cell the notebook runner injects after the parameters."""
    return [
        cell
        for cell in nb.cells
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", [])
    ]
