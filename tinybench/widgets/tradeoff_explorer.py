"""``TradeoffExplorer``: an interactive view of a sweep's accuracy against flash and RAM.

Two panels share the accuracy axis: model flash (the C array) and the tensor arena measured by
TFLM, both on log scales, with the chosen board's flash and RAM budget lines. Hovering a point
shows its variant (recipe, width, accuracy with a 95% confidence interval over the test
windows, flash, gzip, arena, MACs, latency estimate, fits). A board dropdown redraws the budget
lines and the fits colours. Clicking a point selects it; "Use for export" saves that variant
where notebook 04 reads it.

The figure is a plotly ``FigureWidget`` (anywidget-based in plotly 6 and later, its JavaScript
shipped inside the Python package, so it renders offline in JupyterLab, Notebook 7 and VS
Code). Everything drawn comes from :func:`tinybench.sweep.point_table.point_table` and
:func:`~tinybench.sweep.point_table.budget_lines`; this view only displays and forwards events.
See ``docs/explorer.md``.
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from tinybench.boards import Board, list_boards
from tinybench.errors import TinybenchError
from tinybench.sweep.cache import load_variant
from tinybench.sweep.plots import AXIS_LABELS
from tinybench.sweep.point_table import BudgetLines, budget_lines, point_table, windows_note

__all__ = ["TradeoffExplorer"]

_PANELS = (("flash_model_bytes", "pareto_flash", 1), ("arena_bytes", "pareto_arena", 2))
_KINDS = ("fits", "no_fit", "hollow")
_FITS_COLOUR, _NO_FIT_COLOUR, _HOLLOW_COLOUR = "#2ca02c", "#d62728", "#7f7f7f"
_BUDGET_COLOUR = "#d62728"


class TradeoffExplorer:
    """Accuracy against flash and arena, per variant, with hover details, boards and export.

    Display it by leaving it as the last expression of a cell, or with ``display(explorer)``.

    Args:
        results: A sweep's results (:func:`tinybench.sweep.run_sweep`).
        board: Board whose budget is drawn first; by default the sweep's board.
        save_to: Where "Use for export" saves the selected variant (``<save_to>.tflite`` and
            ``.json``), the path notebook 04 reads: ``f"{BUILD_DIR}/chosen_variant"``.

    Attributes:
        results: The sweep's results.
        points: The current :func:`~tinybench.sweep.point_table.point_table`.
        budget: The current board's :class:`~tinybench.sweep.point_table.BudgetLines`.
        selected: Position in ``results`` of the clicked variant, or ``None``.
        saved: Path of the last variant saved for export, or ``None``.
        figure: The plotly ``FigureWidget``.
        traces: Its traces by role: ``"<kind> <x column>"`` with kind ``fits``, ``no_fit``,
            ``hollow``, ``front`` or ``selected`` and x column ``flash_model_bytes`` or
            ``arena_bytes``. Point traces carry each point's row position in ``customdata``.
        board_picker: The board dropdown.
        details: The selected variant's figures.
        export_button: "Use for export".
        status: What was saved, or why not.
        widget: The whole view, a ``VBox``.
    """

    def __init__(
        self,
        results: pd.DataFrame,
        board: str | Board | None = None,
        *,
        save_to: str | os.PathLike[str] = "build/chosen_variant",
    ) -> None:
        self.results = results
        self.points = point_table(results, board)
        self.save_to = Path(save_to)
        self.selected: int | None = None
        self.saved: Path | None = None
        first = board if board is not None else results.attrs.get("board")
        self.budget = budget_lines(results, first)
        self.figure = go.FigureWidget(_empty_figure())
        self.traces: dict[str, Any] = {}
        self._build_traces()
        self.board_picker = widgets.Dropdown(
            options=[(f"{b.title} ({b.name})", b.name) for b in list_boards()],
            value=self.budget.board.name,
            description="Board",
        )
        self.board_picker.observe(self._on_board, names="value")
        self.note = widgets.HTML()
        self.details = widgets.HTML("<i>Click a point to select its variant.</i>")
        self.export_button = widgets.Button(
            description="Use for export", icon="download", disabled=True
        )
        self.export_button.on_click(lambda _button: self.export())
        self.status = widgets.HTML()
        self._actions = widgets.HBox([self.export_button, self.status])
        self.widget = widgets.VBox(
            [self.board_picker, self.figure, self.note, self._actions, self.details]
        )
        self._redraw()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close this view's widgets: the figure, the controls and the boxes."""
        for part in (self.figure, self.board_picker, self.note, self.details, self.status):
            part.close()
        self.export_button.close()
        self._actions.close()
        self.widget.close()

    def set_board(self, board: str | Board) -> None:
        """Show ``board``'s budget lines and recompute which variants fit it.

        Args:
            board: Board name or profile.

        Raises:
            ConfigError: The board is unknown; the message lists the known boards.
        """
        self.budget = budget_lines(self.results, board)
        self.points = point_table(self.results, self.budget.board)
        if self.board_picker.value != self.budget.board.name:
            self.board_picker.value = self.budget.board.name  # its observer calls back here
            return
        self._redraw()

    def select(self, position: int) -> None:
        """Select the variant at ``position`` in the results, as a click on its point does.

        Args:
            position: Row position in ``results``.
        """
        self.selected = int(position)
        self.export_button.disabled = bool(self.points["hollow"].iloc[self.selected])
        self._show_selection()

    def export(self) -> Path | None:
        """Save the selected variant to ``save_to`` for notebook 04; return the model path.

        Nothing is saved, and the status says why, when no variant is selected, when it cannot
        run on a microcontroller, or when its cached files are gone (run the sweep again).
        """
        if self.selected is None:
            self._say("Click a point first, then use it for export.", error=True)
            return None
        point = self.points.iloc[self.selected]
        if point["hollow"]:
            self._say(
                f"{point['label']} cannot run on a microcontroller, so notebook 04 cannot export "
                "it. Choose a filled point.",
                error=True,
            )
            return None
        try:
            path = load_variant(self.results.iloc[self.selected]).save(self.save_to)
        except (TinybenchError, OSError) as exc:
            self._say(f"Could not save {point['label']}: {exc}", error=True)
            return None
        self.saved = path
        caveat = (
            ""
            if point["fits"]
            else f" It does not fit the {self.budget.board.name}: deploying there will refuse it."
        )
        self._say(
            f"Saved {point['label']} (accuracy {point['accuracy']:.1%}, "
            f"{int(point['flash_model_bytes']):,} B flash) to {path} and "
            f"{path.with_suffix('.json').name}; notebook 04 exports it.{caveat}"
        )
        return path

    def _build_traces(self) -> None:
        """Add the traces once, in a fixed order; :meth:`_redraw` only changes their data."""
        for x, _, col in _PANELS:
            for kind in _KINDS:
                trace = go.Scatter(
                    name=f"{kind} {x}",
                    mode="markers",
                    legendgroup=kind,
                    showlegend=col == 1,
                    hovertemplate="%{hovertext}<extra></extra>",
                    marker=_marker(kind),
                )
                self.figure.add_trace(trace, row=1, col=col)
                self.traces[f"{kind} {x}"] = self.figure.data[-1]
                self.figure.data[-1].on_click(self._on_click)
            front = go.Scatter(
                name=f"front {x}",
                mode="lines+markers+text",
                legendgroup="front",
                showlegend=col == 1,
                hoverinfo="skip",
                textposition="top center",
                cliponaxis=False,
                line={"color": "black", "width": 1},
                marker={"size": 16, "color": "rgba(0,0,0,0)", "line": {"color": "black"}},
            )
            selected = go.Scatter(
                name=f"selected {x}",
                mode="markers",
                showlegend=False,
                hoverinfo="skip",
                marker={
                    "symbol": "circle-open",
                    "size": 24,
                    "color": "#1f77b4",
                    "line": {"width": 3},
                },
            )
            for extra in (front, selected):
                self.figure.add_trace(extra, row=1, col=col)
                self.traces[extra.name] = self.figure.data[-1]

    def _redraw(self) -> None:
        """Draw the current points and budget in one batch, which the browser gets as one update."""
        points, board = self.points, self.budget.board
        drawn = points[points["plotted"]]
        names = {
            "fits": f"fits {board.name}",
            "no_fit": f"does not fit {board.name}",
            "hollow": "not runnable on a microcontroller (hollow)",
        }
        with self.figure.batch_update():
            for x, flag, _col in _PANELS:
                shown = drawn[drawn[x].notna()]
                for kind in _KINDS:
                    part = shown[_kind_mask(shown, kind)]
                    trace = self.traces[f"{kind} {x}"]
                    trace.x = part[x].astype(float).tolist()
                    trace.y = part["accuracy"].astype(float).tolist()
                    trace.customdata = [points.index.get_loc(i) for i in part.index]
                    trace.hovertext = part["hover"].tolist()
                    trace.error_y = _error_bars(part)
                    if x == "flash_model_bytes":
                        trace.name = names[kind]
                front = shown[shown[flag]].sort_values(x)
                line = self.traces[f"front {x}"]
                line.x = front[x].astype(float).tolist()
                line.y = front["accuracy"].astype(float).tolist()
                line.text = front["label"].tolist()
                line.name = "Pareto front (MCU-runnable; nothing smaller is as accurate)"
            self.figure.layout.shapes = _budget_shapes(self.budget)
            self.figure.layout.yaxis.title.text = f"test accuracy ({windows_note(points)})"
            self.figure.layout.title.text = f"Test accuracy against flash and RAM · {board.name}"
        self.note.value = _note(points, self.budget)
        if self.selected is not None:
            self._show_selection()

    def _show_selection(self) -> None:
        point = self.points.iloc[self.selected]
        with self.figure.batch_update():
            for x, _, _ in _PANELS:
                ring = self.traces[f"selected {x}"]
                on_axis = point["plotted"] and not pd.isna(point[x])
                ring.x = [float(point[x])] if on_axis else []
                ring.y = [float(point["accuracy"])] if on_axis else []
        self.details.value = f"<b>Selected</b><br>{point['hover']}"

    def _on_click(self, trace: Any, points: Any, _state: Any) -> None:
        if points.point_inds:
            self.select(int(trace.customdata[points.point_inds[0]]))

    def _on_board(self, change: dict[str, Any]) -> None:
        self.set_board(change["new"])

    def _say(self, message: str, *, error: bool = False) -> None:
        colour = "#b00020" if error else "#1b5e20"
        self.status.value = f'<span style="color:{colour}">{html.escape(message)}</span>'

    def __repr__(self) -> str:
        plotted = int(self.points["plotted"].sum())
        return (
            f"TradeoffExplorer({plotted} of {len(self.points)} variants plotted, "
            f"board={self.budget.board.name!r}, selected={self.selected!r}, saved={self.saved!r})"
        )


def _empty_figure() -> go.Figure:
    fig = make_subplots(
        rows=1,
        cols=2,
        shared_yaxes=True,
        horizontal_spacing=0.06,
        subplot_titles=("model flash", "tensor arena (RAM)"),
    )
    fig.update_xaxes(type="log", showgrid=True)
    fig.update_xaxes(title_text=f"{AXIS_LABELS['flash_model_bytes']}, log scale", row=1, col=1)
    fig.update_xaxes(title_text=f"{AXIS_LABELS['arena_bytes']}, log scale", row=1, col=2)
    fig.update_yaxes(tickformat=".0%", showgrid=True)
    fig.update_layout(
        height=520,
        margin={"t": 70, "b": 60, "l": 70, "r": 20},
        legend={"orientation": "h", "y": -0.22, "x": 0},
        hovermode="closest",
        clickmode="event",
        template="plotly_white",
    )
    return fig


def _marker(kind: str) -> dict[str, Any]:
    if kind == "hollow":
        return {"symbol": "square-open", "size": 10, "color": _HOLLOW_COLOUR}
    colour = _FITS_COLOUR if kind == "fits" else _NO_FIT_COLOUR
    return {"symbol": "circle", "size": 10, "color": colour, "line": {"width": 1, "color": "white"}}


def _kind_mask(points: pd.DataFrame, kind: str) -> pd.Series:
    if kind == "hollow":
        return points["hollow"]
    fits = points["fits"].astype(bool)
    return ~points["hollow"] & (fits if kind == "fits" else ~fits)


def _error_bars(part: pd.DataFrame) -> dict[str, Any]:
    """The confidence interval as asymmetric error bars (none where windows are unknown)."""
    upper = (part["ci_high"] - part["accuracy"]).astype(float).fillna(0.0)
    lower = (part["accuracy"] - part["ci_low"]).astype(float).fillna(0.0)
    return {
        "type": "data",
        "symmetric": False,
        "array": upper.tolist(),
        "arrayminus": lower.tolist(),
        "thickness": 1,
        "width": 0,
        "color": "rgba(0,0,0,0.35)",
    }


def _budget_shapes(budget: BudgetLines) -> list[dict[str, Any]]:
    """Vertical budget lines: flash left for the model (panel 1), RAM and RAM left (panel 2)."""
    lines = [
        ("x", budget.flash_left, "dash", budget.flash_label),
        (
            "x2",
            budget.board.ram_bytes,
            "solid",
            f"{budget.board.name} RAM: {budget.board.ram_bytes:,} B",
        ),
        ("x2", budget.ram_left, "dash", budget.ram_label),
    ]
    return [
        {
            "type": "line",
            "xref": axis,
            "yref": "paper",
            "x0": value,
            "x1": value,
            "y0": 0,
            "y1": 1,
            "name": label,
            "showlegend": True,
            "line": {"color": _BUDGET_COLOUR, "dash": dash, "width": 1.5},
        }
        for axis, value, dash, label in lines
        if value > 0  # a log axis cannot place a line at or below zero; the note says so
    ]


def _note(points: pd.DataFrame, budget: BudgetLines) -> str:
    """What the plot cannot show: unplotted variants, missing arenas, no budget left."""
    parts = [
        "Error bars: 95% Wilson interval over the test windows. gzip bytes are in the hover "
        "text; they are not flash. Latency is estimated from MACs for the chosen board."
    ]
    failed = points[~points["plotted"]]
    if not failed.empty:
        names = ", ".join(failed["label"])
        parts.append(f"Not shown, no figures (refused or failed; see the error column): {names}.")
    no_arena = points[points["plotted"] & points["arena_bytes"].isna()]
    if not no_arena.empty:
        names = ", ".join(no_arena["label"])
        parts.append(f"Only in the flash panel, no TFLM arena: {names}.")
    if budget.flash_left <= 0 or budget.ram_left <= 0:
        parts.append(f"The {budget.board.name} has no flash or RAM left for a model.")
    if not budget.board.tflm:
        parts.append(f"The {budget.board.name} cannot run TensorFlow Lite Micro: nothing fits.")
    return "<br>".join(html.escape(part) for part in parts)
