"""The trade-off explorer: Wilson intervals, the point table, and the plotly widget's model.

Most tests use a results frame built here, so they run without TensorFlow. One test runs a
two-variant sweep on scikit-learn's digits (a tiny CNN, one epoch) to check that a clicked
point saved with "Use for export" loads back as the variant notebook 04 exports.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tinybench.boards import get_board
from tinybench.errors import ConfigError
from tinybench.measure.budget import kernel_flash_estimate
from tinybench.sweep.confidence import correct_windows, wilson_interval
from tinybench.sweep.point_table import budget_lines, point_table, windows_note
from tinybench.widgets import TradeoffExplorer

# recipe, width, accuracy, flash, gzip, arena, runnable, fits on nano33ble
ROWS = [
    ("float32", 1.0, 0.95, 80_000, 70_000, 9_000, True, True),
    ("float16", 1.0, 0.95, 42_000, 38_000, None, False, False),
    ("int8", 0.5, 0.94, 23_000, 18_000, 3_000, True, True),
    ("int8", 1.0, 0.96, 60_000, 40_000, 5_000, True, True),
    ("prune80+int8", 1.0, 0.93, 60_000, 7_000, 5_000, True, True),
    ("huge", 4.0, 0.99, 900_000, 800_000, 12_000, True, False),
    ("pqat80", 1.0, None, None, None, None, False, False),
]
OPS = "CONV_2D,FULLY_CONNECTED,SOFTMAX"


@pytest.fixture
def results(tmp_path: Path) -> pd.DataFrame:
    df = pd.DataFrame(
        [
            {
                "recipe": recipe,
                "width": width,
                "accuracy": np.nan if accuracy is None else accuracy,
                "interpreter": "tflm" if runnable else "litert",
                "flash_model_bytes": flash,
                "gzip_bytes": gzip,
                "arena_bytes": np.nan if arena is None else arena,
                "runnable_on_mcu": runnable,
                "fits": fits,
                "board": "nano33ble",
                "samples": 200,
                "macs": 12_345,
                "quantization": "float32" if recipe == "float32" else "int8",
                "latency_ms_estimate": 0.4 if runnable else np.nan,
                "ops": OPS if runnable else "",
                "error": "" if accuracy is not None else "RecipeError: refused",
                "path": str(tmp_path / "gone" / recipe),
            }
            for recipe, width, accuracy, flash, gzip, arena, runnable, fits in ROWS
        ]
    )
    df.attrs["board"] = "nano33ble"
    return df


# --- Wilson interval --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("correct", "total", "low", "high"),
    [
        (5, 10, 0.23659, 0.76341),  # textbook value
        (0, 10, 0.0, 0.27753),  # 0% correct still has an upper bound
        (10, 10, 0.72247, 1.0),
        (188, 200, 0.89807, 0.96535),  # worked by hand from the formula
    ],
)
def test_wilson_interval_matches_known_values(correct, total, low, high) -> None:
    assert wilson_interval(correct, total) == pytest.approx((low, high), abs=5e-5)


def test_wilson_interval_narrows_with_more_windows_and_lower_confidence() -> None:
    small = wilson_interval(47, 50)
    large = wilson_interval(940, 1000)
    assert small[0] < large[0] < 0.94 < large[1] < small[1]
    wide, narrow = wilson_interval(47, 50, 0.99), wilson_interval(47, 50, 0.80)
    assert wide[0] < small[0] < narrow[0]


@pytest.mark.parametrize(
    ("args", "match"),
    [((0, 0), "0 test windows"), ((11, 10), "11 correct out of 10"), ((5, 10, 1.5), "1.5")],
)
def test_wilson_interval_refuses_impossible_counts(args, match) -> None:
    with pytest.raises(ConfigError, match=match):
        wilson_interval(*args)


def test_correct_windows_from_accuracy() -> None:
    assert correct_windows(0.94, 200) == 188
    assert correct_windows(1 / 3, 3) == 1
    with pytest.raises(ConfigError, match=r"0\.333 on 200"):
        correct_windows(0.333, 200)


# --- the point table --------------------------------------------------------------------------


def test_point_table_gives_each_accuracy_its_interval(results: pd.DataFrame) -> None:
    table = point_table(results)
    int8 = table.iloc[2]
    assert int8["label"] == "int8 w0.5"
    assert int8["test_windows"] == 200
    assert (int8["ci_low"], int8["ci_high"]) == pytest.approx(wilson_interval(188, 200))
    assert "95% CI 89.8%–96.5% on 200 test windows" in int8["hover"]
    assert windows_note(table) == "200 test windows"


def test_point_table_hover_names_every_figure(results: pd.DataFrame) -> None:
    hover = point_table(results).iloc[2]["hover"]
    for text in (
        "recipe int8 · width 0.5",
        "in TFLM",
        "model flash (C array): 23,000 B",
        "gzip, not flash: 18,000 B",
        "tensor arena (TFLM): 3,000 B",
        "MACs: 12,345",
        "latency estimate: ~0.4 ms on nano33ble",
        "fits nano33ble: yes",
        "on the Pareto front (flash and arena)",
    ):
        assert text in hover
    float16 = point_table(results).iloc[1]["hover"]
    assert "in LiteRT" in float16
    assert "not runnable on a microcontroller (hollow)" in float16


def test_latency_is_estimated_again_for_another_board(results: pd.DataFrame) -> None:
    rp2040 = get_board("nano_rp2040_connect")
    table = point_table(results, rp2040)
    int8, float32 = table.iloc[2], table.iloc[0]
    assert int8["latency_ms_estimate"] == pytest.approx(12_345 * 6.0 / 133e6 * 1e3)
    assert float32["latency_ms_estimate"] == pytest.approx(12_345 * 40.0 / 133e6 * 1e3)
    assert int8["latency_ms_estimate"] == rp2040.mac_latency_ms(12_345, "int8")
    assert f"~{int8['latency_ms_estimate']:.3g} ms on nano_rp2040_connect" in int8["hover"]
    assert pd.isna(table.iloc[1]["latency_ms_estimate"])  # float16: not on a microcontroller
    uno = point_table(results, "uno")
    assert uno["latency_ms_estimate"].isna().all()
    assert "latency estimate: none (no TFLM on uno)" in uno.iloc[2]["hover"]
    # On the sweep's own board the results' figure stays (it may come from a target build).
    assert point_table(results).iloc[2]["latency_ms_estimate"] == 0.4


def test_point_table_flags_hollow_failed_and_pareto(results: pd.DataFrame) -> None:
    table = point_table(results)
    assert table["hollow"].tolist() == [False, True, False, False, False, False, True]
    assert table["plotted"].tolist() == [True, True, True, True, True, True, False]
    # int8 w0.5 is smallest; int8 w1 beats float32 and prune80 at 60,000 B; huge is most accurate.
    # float16 is more accurate than int8 w0.5 but cannot run on a microcontroller.
    assert table.index[table["pareto_flash"]].tolist() == [2, 3, 5]
    assert table.index[table["pareto_arena"]].tolist() == [2, 3, 5]


def test_changing_the_board_flips_fits(results: pd.DataFrame) -> None:
    nano = point_table(results, "nano33ble")["fits"].tolist()
    esp32 = point_table(results, "nano_esp32")["fits"].tolist()
    uno = point_table(results, "uno")["fits"].tolist()
    assert nano == [True, False, True, True, True, False, False]
    assert esp32 == [True, False, True, True, True, True, False]  # 3 MB flash holds "huge"
    assert uno == [False] * len(results)  # the Uno cannot run TFLM
    assert "fits uno: no" in point_table(results, "uno").iloc[2]["hover"]


def test_point_table_without_window_counts_says_so(results: pd.DataFrame) -> None:
    table = point_table(results.drop(columns="samples"))
    assert table["ci_low"].isna().all()
    assert "number of test windows is not in the results" in table.iloc[0]["hover"]
    assert windows_note(table) == "an unknown number of test windows"


def test_point_table_refuses_frames_that_are_not_results(results: pd.DataFrame) -> None:
    with pytest.raises(ConfigError, match="flash_model_bytes"):
        point_table(results.drop(columns="flash_model_bytes"))
    unnamed = results.copy()
    unnamed.attrs = {}
    with pytest.raises(ConfigError, match="board="):
        point_table(unnamed)
    with pytest.raises(ConfigError, match="nano99"):
        point_table(results, "nano99")


def test_budget_lines_take_the_runtime_and_margins_off(results: pd.DataFrame) -> None:
    for name in ("nano33ble", "portenta_h7"):
        board = get_board(name)
        budget = budget_lines(results, name)
        runtime = board.runtime_flash_bytes + kernel_flash_estimate(OPS.split(","))
        assert budget.runtime_flash_estimate == runtime
        assert budget.flash_left == board.flash_bytes - runtime
        assert budget.ram_left == board.ram_bytes - board.runtime_ram_bytes - 16 - 1024
        assert f"{budget.flash_left:,} B" in budget.flash_label


# --- the widget model -------------------------------------------------------------------------


def _click(explorer: TradeoffExplorer, position: int) -> None:
    """Send the message the browser sends when the point of row ``position`` is clicked."""
    drawn = [
        (index, trace)
        for index, trace in enumerate(explorer.figure.data)
        if trace.customdata is not None and position in list(trace.customdata)
    ]
    assert drawn, f"row {position} is not drawn"
    index, trace = drawn[0]
    point = list(trace.customdata).index(position)
    explorer.figure._js2py_pointsCallback = {
        "event_type": "plotly_click",
        "points": {
            "xs": [trace.x[point]],
            "ys": [trace.y[point]],
            "point_indexes": [point],
            "trace_indexes": [index],
        },
        "device_state": None,
        "selector": None,
    }


def _budget(explorer: TradeoffExplorer) -> dict[str, float]:
    return {shape.xref + " " + shape.line.dash: shape.x0 for shape in explorer.figure.layout.shapes}


def test_traces_hold_the_points_with_their_rows(results: pd.DataFrame) -> None:
    explorer = TradeoffExplorer(results)
    fits = explorer.traces["fits flash_model_bytes"]
    assert list(fits.x) == [80_000, 23_000, 60_000, 60_000]
    assert list(fits.y) == [0.95, 0.94, 0.96, 0.93]
    assert list(fits.customdata) == [0, 2, 3, 4]
    assert "int8 w0.5" in fits.hovertext[1]
    assert list(explorer.traces["no_fit flash_model_bytes"].customdata) == [5]
    hollow = explorer.traces["hollow flash_model_bytes"]
    assert list(hollow.customdata) == [1]  # float16: drawn hollow, not dropped
    assert hollow.marker.symbol.endswith("-open")
    assert list(explorer.traces["hollow arena_bytes"].customdata) == []  # float16 has no arena
    front = explorer.traces["front flash_model_bytes"]
    assert list(front.text) == ["int8 w0.5", "int8 w1", "huge w4"]
    error = fits.error_y
    assert error.array[1] == pytest.approx(wilson_interval(188, 200)[1] - 0.94)
    assert "200 test windows" in explorer.figure.layout.yaxis.title.text
    assert "pqat80 w1" in explorer.note.value  # failed: named, not silently dropped
    assert "float16 w1" in explorer.note.value  # no arena panel point, and said so


def test_board_dropdown_redraws_budget_and_fits(results: pd.DataFrame) -> None:
    explorer = TradeoffExplorer(results)
    nano = budget_lines(results, "nano33ble")
    assert _budget(explorer) == {
        "x dash": nano.flash_left,
        "x2 solid": 262_144,
        "x2 dash": nano.ram_left,
    }
    explorer.board_picker.value = "nano_esp32"
    esp32 = budget_lines(results, "nano_esp32")
    assert _budget(explorer) == {
        "x dash": esp32.flash_left,
        "x2 solid": 327_680,
        "x2 dash": esp32.ram_left,
    }
    assert list(explorer.traces["fits flash_model_bytes"].customdata) == [0, 2, 3, 4, 5]
    assert explorer.traces["fits flash_model_bytes"].name == "fits nano_esp32"
    explorer.set_board("uno")
    assert explorer.board_picker.value == "uno"
    assert list(explorer.traces["fits flash_model_bytes"].customdata) == []
    assert "cannot run TensorFlow Lite Micro" in explorer.note.value


def test_a_click_selects_and_shows_the_variant(results: pd.DataFrame) -> None:
    explorer = TradeoffExplorer(results)
    assert explorer.export_button.disabled
    _click(explorer, 2)
    assert explorer.selected == 2
    assert "int8 w0.5" in explorer.details.value
    assert not explorer.export_button.disabled
    assert list(explorer.traces["selected flash_model_bytes"].x) == [23_000]
    assert list(explorer.traces["selected arena_bytes"].x) == [3_000]
    _click(explorer, 1)  # float16: shown, but it cannot be exported
    assert explorer.export_button.disabled
    assert list(explorer.traces["selected arena_bytes"].x) == []


def test_export_refuses_without_a_usable_selection(results: pd.DataFrame, tmp_path) -> None:
    explorer = TradeoffExplorer(results, save_to=tmp_path / "chosen_variant")
    assert explorer.export() is None
    assert "Click a point first" in explorer.status.value
    explorer.select(1)
    assert explorer.export() is None
    assert "cannot run on a microcontroller" in explorer.status.value
    explorer.select(2)  # its cache folder is gone: the sweep must run again
    explorer.export_button.click()
    assert explorer.saved is None
    assert "is gone" in explorer.status.value
    assert not list(tmp_path.glob("chosen_variant*"))


@pytest.mark.slow
def test_use_for_export_saves_a_variant_notebook_04_loads(tmp_path: Path, monkeypatch) -> None:
    from tinybench.dataset.loading import Dataset, prepare
    from tinybench.deploy import load_chosen_variant
    from tinybench.optimize import Variant
    from tinybench.sweep import SweepGrid, run_sweep

    grid = SweepGrid(
        dataset="digits",
        model="digits_cnn",
        widths=(0.5,),
        recipes=("float32", "float16", "int8"),
        epochs=1,
        fine_tune_epochs=1,
    )
    data = prepare(Dataset.from_digits(), seed=0)
    df = run_sweep(grid, data, executor="serial", cache_dir=tmp_path / "cache", progress=False)
    explorer = TradeoffExplorer(df, board="nano33ble", save_to=tmp_path / "build" / "chosen")
    assert f"{len(data.test.y):,} test windows" in explorer.figure.layout.yaxis.title.text
    assert explorer.points["ci_low"].notna().sum() == 3
    assert list(explorer.traces["hollow flash_model_bytes"].customdata) == [1]

    def full_disk(self, path):
        raise OSError(28, "No space left on device")

    _click(explorer, 2)
    monkeypatch.setattr(Variant, "save", full_disk)
    explorer.export_button.click()
    assert explorer.saved is None and "No space left" in explorer.status.value
    monkeypatch.undo()

    explorer.export_button.click()
    assert explorer.saved == tmp_path / "build" / "chosen.tflite"
    assert "Saved int8" in explorer.status.value and "chosen.json" in explorer.status.value
    variant = load_chosen_variant(tmp_path / "build" / "chosen")
    assert variant.tflite == explorer.saved.read_bytes()
    assert variant.recipe.kind == "int8"
