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


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def undisplayed_plots(nb: nbformat.NotebookNode) -> list[str]:
    """Return the first line of each plotting cell that shows no picture.

    A cell that calls a ``plot_…`` function must output ``image/png``; a cell that builds the
    trade-off explorer must output a widget view. Text such as ``<Figure size 800x500 with 1
    Axes>`` is what a student would see instead of the plot, and counts as missing.
    """
    missing = []
    for cell in code_cells(nb):
        if "plot_" in cell.source:
            wanted = "image/png"
        elif "Explorer(" in cell.source:
            wanted = WIDGET_VIEW
        else:
            continue
        if not any(wanted in output.get("data", {}) for output in cell.get("outputs", [])):
            missing.append(cell.source.strip().splitlines()[-1])
    return missing


#: Lines TensorFlow's native code or its Python logger write that a student should never see.
NATIVE_NOISE = (
    "cuInit",
    "use_unbounded_threadpool",
    "fully_quantize",
    "oneDNN",
    "absl::",
    "INFO:tensorflow",
)


def native_noise(nb: nbformat.NotebookNode) -> list[str]:
    """Return each output line of ``nb`` that is TensorFlow log noise (see NATIVE_NOISE)."""
    return [
        line
        for cell in code_cells(nb)
        for line in text_of(cell).splitlines()
        if any(noise in line for noise in NATIVE_NOISE)
    ]
