"""Trade-off plots and the confusion matrix, on a results frame built in the test."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.sweep import plot_arena, plot_confusion, plot_gzip, plot_tradeoff
from tinybench.sweep.plots import AXIS_LABELS


@pytest.fixture
def results() -> pd.DataFrame:
    rows = [
        # recipe, accuracy, flash, gzip, arena, runnable
        ("float32", 0.95, 80_000, 70_000, 9_000, True),
        ("float16", 0.95, 42_000, 38_000, None, False),
        ("dynamic", 0.94, 24_000, 19_000, None, False),
        ("int8", 0.94, 23_000, 18_000, 3_000, True),
        ("prune80+int8", 0.93, 23_000, 7_000, 3_000, True),
        ("cluster16", 0.80, 23_500, 9_000, 3_000, True),
    ]
    df = pd.DataFrame(
        [
            {
                "recipe": r,
                "width": 1.0,
                "accuracy": a,
                "flash_model_bytes": f,
                "gzip_bytes": g,
                "arena_bytes": np.nan if m is None else m,
                "runnable_on_mcu": run,
                "board": "nano33ble",
                "runtime_flash_estimate": 150_000 if run else np.nan,
            }
            for r, a, f, g, m, run in rows
        ]
    )
    df.attrs["board"] = "nano33ble"
    return df


def _points(fig: Figure) -> list[tuple[float, float, bool]]:
    """(x, y, hollow) of every scattered point on the figure's first axes."""
    points = []
    for collection in fig.axes[0].collections:
        if collection.get_gid() == "pareto":  # the rings around the front's points
            continue
        offsets = collection.get_offsets()
        faces = collection.get_facecolors()
        for (x, y), face in zip(
            offsets, faces if len(faces) else [None] * len(offsets), strict=True
        ):
            hollow = face is None or mcolors.to_rgba(face)[3] == 0
            points.append((float(x), float(y), hollow))
    return points


def _verticals(fig: Figure) -> set[float]:
    """x of every budget line (drawn in red across the whole axes)."""
    return {
        float(line.get_xdata()[0])
        for line in fig.axes[0].get_lines()
        if line.get_color() == "tab:red"
    }


def _legend_texts(fig: Figure) -> list[str]:
    """Legend entries, with the wrapping of long entries undone."""
    return [text.get_text().replace("\n", " ") for text in fig.legends[0].get_texts()]


def test_only_pareto_points_are_labelled_and_recipes_keep_their_marker(
    results: pd.DataFrame,
) -> None:
    from tinybench.sweep import pareto_front

    fig = plot_tradeoff(results, board="nano33ble")
    labels = sorted(text.get_text() for text in fig.axes[0].texts if text.get_text())
    front = pareto_front(results[results["runnable_on_mcu"]], "flash_model_bytes", "accuracy")
    assert sorted(str(r) for r in front["recipe"]) == sorted(
        part for label in labels for part in label.split("\n")
    )
    legend = _legend_texts(fig)
    assert all(str(recipe) in legend for recipe in results["recipe"])

    def markers(figure: Figure) -> dict[str, str]:
        handles = figure.legends[0].legend_handles
        return {
            h.get_label(): h.get_marker() for h in handles if h.get_label() in set(results.recipe)
        }

    arena = markers(plot_arena(results, board="nano33ble"))
    assert arena and all(markers(fig)[recipe] == m for recipe, m in arena.items())


def test_plots_display_as_png_in_ipython(results: pd.DataFrame) -> None:
    from IPython.core.interactiveshell import InteractiveShell

    from tinybench.sweep import plot_confusion

    shell = InteractiveShell.instance()
    figures = [
        plot_tradeoff(results, board="nano33ble"),
        plot_arena(results, board="nano33ble"),
        plot_confusion([0, 1, 1], [0, 1, 0], ["a", "b"]),
    ]
    for fig in figures:
        data, _ = shell.display_formatter.format(fig)
        assert data["image/png"].startswith(b"\x89PNG"), data.keys()


def test_tradeoff_axes_say_what_the_bytes_are(results: pd.DataFrame) -> None:
    fig = plot_tradeoff(results, board="nano33ble")
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert "model flash bytes (C array)" in ax.get_xlabel()
    assert ax.get_ylabel() == "test accuracy"
    assert ax.get_xscale() == "log"
    gzip = plot_gzip(results)
    assert "gzip bytes (compressed, not flash)" in gzip.axes[0].get_xlabel()
    arena = plot_arena(results, "nano33ble")
    assert "tensor arena bytes (measured by TFLM)" in arena.axes[0].get_xlabel()
    assert AXIS_LABELS["gzip_bytes"].endswith("not flash)")


def test_tradeoff_marks_non_mcu_variants_hollow_and_keeps_them(results: pd.DataFrame) -> None:
    fig = plot_tradeoff(results)
    points = _points(fig)
    assert len(points) == len(results)
    hollow = {(x, y) for x, y, is_hollow in points if is_hollow}
    assert hollow == {(42_000.0, 0.95), (24_000.0, 0.94)}
    assert any("not runnable on a microcontroller" in t for t in _legend_texts(fig))


def test_flash_budget_line_is_flash_minus_runtime_estimate(results: pd.DataFrame) -> None:
    board = get_board("nano33ble")
    fig = plot_tradeoff(results, board=board)
    expected = board.flash_bytes - 150_000
    assert _verticals(fig) == {float(expected)}
    legend = " ".join(_legend_texts(fig))
    assert f"{board.flash_bytes:,} B flash" in legend
    assert "150,000 B runtime estimate" in legend
    assert f"{expected:,} B" in legend


def test_pareto_front_line_joins_only_undominated_mcu_variants(results: pd.DataFrame) -> None:
    fig = plot_tradeoff(results)
    fronts = [line for line in fig.axes[0].get_lines() if line.get_gid() == "pareto"]
    assert len(fronts) == 1
    xs = list(fronts[0].get_xdata())
    # int8 (23,000 B, 94%) dominates prune80 (same bytes, 93%) and cluster16; float32 is more
    # accurate; float16/dynamic are not runnable on a microcontroller.
    assert xs == [23_000, 80_000]


def test_gzip_plot_has_no_flash_budget(results: pd.DataFrame) -> None:
    fig = plot_gzip(results)
    legend = " ".join(_legend_texts(fig))
    assert "flash left" not in legend
    assert _verticals(fig) == set()
    xs = [x for x, _, _ in _points(fig)]
    assert 7_000.0 in xs


def test_arena_plot_draws_ram_and_lists_variants_without_arena(results: pd.DataFrame) -> None:
    board = get_board("nano33ble")
    fig = plot_arena(results, board)
    assert _verticals(fig) == {
        float(board.ram_bytes),
        float(board.ram_bytes - board.runtime_ram_bytes - 16 - 1024),
    }
    assert len(_points(fig)) == 4
    notes = " ".join(_legend_texts(fig))
    assert "no TFLM arena" in notes
    assert "float16" in notes and "dynamic" in notes


def test_board_defaults_to_the_sweeps_board(results: pd.DataFrame) -> None:
    small = plot_tradeoff(results.assign(board="portenta_h7"))
    assert any("portenta_h7" in t for t in _legend_texts(small))
    mixed = pd.concat([results, results.assign(board="uno")])
    with pytest.raises(ConfigError, match="board="):
        plot_tradeoff(mixed)


def test_bad_inputs_are_refused(results: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="arena_bytes"):
        plot_tradeoff(results, x="arena_bytes")
    with pytest.raises(ConfigError, match="lack columns"):
        plot_tradeoff(results.drop(columns=["gzip_bytes"]), x="gzip_bytes")
    with pytest.raises(ConfigError, match="empty"):
        plot_arena(results.iloc[:0], "nano33ble")


def test_confusion_matrix_counts() -> None:
    y_true = [0, 0, 1, 1, 1, 2]
    y_pred = [0, 1, 1, 1, 2, 2]
    fig = plot_confusion(y_true, y_pred, ["idle", "wave", "punch"], normalize=False)
    ax = fig.axes[0]
    image = ax.get_images()[0].get_array()
    np.testing.assert_array_equal(image, [[1, 1, 0], [0, 2, 1], [0, 0, 1]])
    assert ax.get_xlabel() == "predicted label"
    assert ax.get_ylabel() == "true label"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["idle", "wave", "punch"]
    assert "66.7%" in ax.get_title()
    normalized = plot_confusion(y_true, y_pred, ["idle", "wave", "punch"])
    rows = normalized.axes[0].get_images()[0].get_array()
    np.testing.assert_allclose(rows.sum(axis=1), [1, 1, 1])


def test_confusion_refuses_mismatched_or_out_of_range() -> None:
    with pytest.raises(ConfigError, match="equally long"):
        plot_confusion([0, 1], [0], ["a", "b"])
    with pytest.raises(ConfigError, match=r"\[2\]"):
        plot_confusion([0, 2], [0, 1], ["a", "b"])


def test_failed_variants_are_named_not_dropped(results: pd.DataFrame) -> None:
    failed = pd.DataFrame(
        [{"recipe": "pqat80", "width": 1.0, "accuracy": np.nan, "runnable_on_mcu": False,
          "board": "nano33ble", "error": "recipe pqat refused: …"}]
    )  # fmt: skip
    df = pd.concat([results.assign(error=""), failed], ignore_index=True)
    for fig in (plot_tradeoff(df), plot_arena(df)):
        failed = [t for t in _legend_texts(fig) if "refused or failed" in t]
        assert len(failed) == 1 and failed[0].endswith("pqat80")
    no_arena = [t for t in _legend_texts(plot_arena(df)) if "no TFLM arena" in t]
    assert no_arena == [
        "not shown, no TFLM arena (not runnable on a microcontroller): float16, dynamic"
    ]
