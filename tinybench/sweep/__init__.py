"""Sweeps: experiment grids of widths × recipes, run with a content cache, read as trade-offs.

``grid`` names the jobs, ``jobs`` trains and measures one, ``executors`` runs them (locally or on
a cluster), ``cache`` stores results by content, ``runner`` ties them into ``run_sweep``, and
``tradeoffs``, ``plots`` and ``confusion`` read the results; ``point_table`` and
``confidence`` give the trade-off explorer its points and accuracy intervals.
"""

from tinybench.sweep.cache import Predictions, load_predictions, load_variant
from tinybench.sweep.confidence import correct_windows, wilson_interval
from tinybench.sweep.confusion import plot_confusion
from tinybench.sweep.executors import LocalExecutor
from tinybench.sweep.grid import DEFAULT_RECIPES, GRID_PRESETS, SweepGrid, SweepJob
from tinybench.sweep.plots import plot_arena, plot_gzip, plot_tradeoff
from tinybench.sweep.point_table import BudgetLines, budget_lines, point_table, windows_note
from tinybench.sweep.runner import run_sweep
from tinybench.sweep.tradeoffs import best_variant, fits_board, pareto_front, tradeoff_table

__all__ = [
    "DEFAULT_RECIPES",
    "GRID_PRESETS",
    "BudgetLines",
    "LocalExecutor",
    "Predictions",
    "SweepGrid",
    "SweepJob",
    "best_variant",
    "budget_lines",
    "correct_windows",
    "fits_board",
    "load_predictions",
    "load_variant",
    "pareto_front",
    "plot_arena",
    "plot_confusion",
    "plot_gzip",
    "plot_tradeoff",
    "point_table",
    "run_sweep",
    "tradeoff_table",
    "wilson_interval",
    "windows_note",
]
