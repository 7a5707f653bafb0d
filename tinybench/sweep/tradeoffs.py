"""Reading a sweep's results: the Pareto front, the key figures, and the variant to deploy.

:func:`pareto_front` keeps the variants no other beats on bytes and accuracy,
:func:`tradeoff_table` names what each byte count is, and :func:`best_variant` picks the
variant to deploy on a board. Whether a variant fits a board follows
:mod:`tinybench.measure.budget`'s
rules, the same ones :func:`tinybench.measure.profile.profile` applied when the sweep measured it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from tinybench.boards import Board, get_board
from tinybench.errors import BudgetError, ConfigError
from tinybench.measure.budget import BudgetReport

__all__ = ["best_variant", "fits_board", "pareto_front", "tradeoff_table"]


def pareto_front(df: pd.DataFrame, x: str, y: str = "accuracy") -> pd.DataFrame:
    """Return the rows no other row beats: smaller or equal ``x`` and higher ``y``.

    Rows missing ``x`` or ``y`` are left out. The front is sorted by ``x``.

    Args:
        df: Results, one row per variant.
        x: Column to minimize (bytes).
        y: Column to maximize (accuracy).
    """
    for column in (x, y):
        if column not in df.columns:
            raise ConfigError(f"No column {column!r}; the results have {list(df.columns)}.")
    points = df[df[x].notna() & df[y].notna()]
    ordered = points.sort_values([x, y], ascending=[True, False], kind="stable")
    keep, best = [], -np.inf
    for index, value in zip(ordered.index, ordered[y], strict=True):
        if value > best:
            keep.append(index)
            best = value
    return ordered.loc[keep]


def tradeoff_table(df: pd.DataFrame) -> pd.DataFrame:
    """Return the sweep's key figures with column names that say what each byte count is.

    Args:
        df: A sweep's results.

    Returns:
        One row per variant: test accuracy in percent and the interpreter that measured it,
        model flash bytes (the C array), gzip bytes (compressed, not flash), the tensor arena
        measured by TFLM, whether it runs on a microcontroller and fits the board, and any
        error.
    """
    several = "width" in df.columns and df["width"].nunique() > 1
    variant = [
        f"{recipe} w{width:g}" if several else str(recipe)
        for recipe, width in zip(df["recipe"], df.get("width", df["recipe"]), strict=True)
    ]
    table = pd.DataFrame(
        {
            "variant": variant,
            "accuracy %": (df["accuracy"] * 100).round(2),
            "measured in": df.get("interpreter"),
            "model flash B (C array)": df.get("flash_model_bytes"),
            "gzip B (not flash)": df.get("gzip_bytes"),
            "arena B (TFLM)": df.get("arena_bytes"),
            "runs on MCU": df["runnable_on_mcu"].astype(bool),
            "fits board": df.get("fits"),
            "error": df.get("error"),
        }
    )
    for column in ("model flash B (C array)", "gzip B (not flash)", "arena B (TFLM)"):
        table[column] = table[column].astype("Int64")
    return table.set_index("variant")


def best_variant(
    df: pd.DataFrame,
    board: str | Board | None = None,
    min_accuracy: float | None = None,
    *,
    int8_only: bool = True,
) -> pd.Series:
    """Choose the variant to deploy: runnable on a microcontroller and fitting the board.

    Without ``min_accuracy`` the most accurate candidate wins (the smaller flash breaks ties);
    with it, the candidate with the fewest model flash bytes among those at least that
    accurate wins.

    Args:
        df: A sweep's results.
        board: Board it must fit; by default the sweep's board.
        min_accuracy: Lowest acceptable test accuracy, as a fraction (0.9 for 90%).
        int8_only: Consider only fully int8 variants (what TFLM runs fastest and smallest).

    Returns:
        The chosen row.

    Raises:
        BudgetError: No variant qualifies; the message says how many failed each condition.
    """
    target = get_board(board) if board is not None else get_board(df.attrs.get("board", ""))
    fits = df.apply(lambda row: fits_board(row, target), axis=1).astype(bool)
    runnable = df["runnable_on_mcu"].astype(bool) & df["accuracy"].notna()
    int8 = df["int8"].astype(bool) if int8_only else pd.Series(True, index=df.index)
    candidates = df[fits & runnable & int8]
    if min_accuracy is not None:
        candidates = candidates[candidates["accuracy"] >= min_accuracy]
    if candidates.empty:
        raise BudgetError(
            f"No variant qualifies for {target.name}: {int(runnable.sum())} of {len(df)} run on a "
            f"microcontroller, {int((runnable & int8).sum())} of those are int8, "
            f"{int((runnable & int8 & fits).sum())} fit its flash and RAM"
            + (f", and none reaches accuracy {min_accuracy:.1%}" if min_accuracy else "")
            + ". Lower min_accuracy, add int8 recipes or smaller widths, or pick a bigger board."
        )
    if min_accuracy is None:
        order = candidates.sort_values(
            ["accuracy", "flash_model_bytes"], ascending=[False, True], kind="stable"
        )
    else:
        order = candidates.sort_values(
            ["flash_model_bytes", "accuracy"], ascending=[True, False], kind="stable"
        )
    return order.iloc[0]


def fits_board(row: pd.Series, board: Board) -> bool:
    """Whether a row's variant fits ``board``, by :mod:`tinybench.measure.budget`'s rules.

    On the board the row was profiled for, its ``fits`` (the profile's answer by those rules)
    stands; on another board, the row's measured model bytes, arena and ops are checked again.

    Args:
        row: A row of a sweep's results.
        board: The board to check against.
    """
    if not bool(row.get("runnable_on_mcu")) or pd.isna(row.get("flash_model_bytes")):
        return False
    if row.get("board") == board.name:
        return bool(row["fits"])
    ops = row.get("ops")
    report = BudgetReport(
        board,
        int(row["flash_model_bytes"]),
        _measured(row.get("arena_bytes")),
        arena_required_bytes=_measured(row.get("arena_required_bytes")),
        op_names=tuple(name for name in ops.split(",") if name) if isinstance(ops, str) else (),
    )
    return report.fits


def _measured(value: Any) -> int | None:
    """A byte count from a results row; ``None`` where it was not measured (NaN)."""
    return None if value is None or pd.isna(value) else int(value)
