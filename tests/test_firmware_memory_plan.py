"""TFLM's own memory plan, read from the emulated Cortex-M4 firmware (command ``m``).

On the reference models TFLM allocates, the plan's peak plus the persistent tail is the arena
the firmware reports in its hello (``arena_used``, ``arena_used_bytes()``), the buffers are the
flatbuffer's tensors in order, and no two buffers alive at the same time share a byte. Marked
``firmware``: skipped, with the install command as the reason, without the toolchain, QEMU or
the TFLM library. Builds reuse build/tflm-cache.
"""

from __future__ import annotations

import pytest
from firmware_support import CACHE, library_or_skip, toolchain_or_skip

from tinybench.teach.memory_plan import memory_plan, plot_memory_plan

pytestmark = pytest.mark.firmware

MODELS = ["hello_world_int8", "micro_speech_quantized", "kws_ref_model"]


@pytest.fixture(scope="module")
def library():
    toolchain_or_skip(qemu=True)
    return library_or_skip()


@pytest.mark.parametrize("name", MODELS)
def test_plan_adds_up_to_the_firmware_arena(name, library, reference_models_dir):
    plan = memory_plan(reference_models_dir / f"{name}.tflite", cache_dir=CACHE, library=library)
    assert plan.labelled, plan.label_problem
    assert plan.model_name == name
    assert plan.peak == max(b.end for b in plan.buffers) == plan.head
    assert plan.peak + plan.tail == plan.total == plan.arena_used
    for a in plan.buffers:
        for b in plan.buffers[a.index + 1 :]:
            alive_together = a.first <= b.last and b.first <= a.last
            assert not (alive_together and a.offset < b.end and b.offset < a.end), (a, b)
    fig = plot_memory_plan(plan)
    assert fig.axes[0].get_ylim()[1] >= plan.total


def test_plan_of_an_export_folder_matches_the_hello(library, reference_models_dir, tmp_path):
    import tinybench
    from tinybench.emulate.board import EmulatedBoard

    export = tmp_path / "export"
    tinybench.export_model(reference_models_dir / "kws_ref_model.tflite", export, "kws")
    plan = memory_plan(export, cache_dir=CACHE, library=library)
    with EmulatedBoard(export, cache_dir=CACHE, library=library) as board:
        hello = board.link.request_hello(timeout=10)
    assert plan.total == int(hello.extra["arena_used"])
    depthwise = [f"scratch of op {k} DEPTHWISE_CONV_2D" for k in (1, 3, 5, 7)]
    assert [b.label for b in plan.buffers if b.tensor is None] == [
        "scratch of op 0 CONV_2D", *depthwise, "scratch of op 9 AVERAGE_POOL_2D",
    ]  # fmt: skip


@pytest.mark.parametrize("name", MODELS)
def test_plan_total_is_the_target_arena_profile_reports(name, library, reference_models_dir):
    """The plan and profile() describe the same build: the emulated Cortex-M4F's arena.

    The host figure (profile().arena_bytes, from the PyPI TFLM interpreter on x86-64) is a
    different build of TFLM and may differ by a few hundred bytes; it is shown beside it.
    """
    from tinybench.emulate.footprint import target_footprint
    from tinybench.measure import profile

    model = reference_models_dir / f"{name}.tflite"
    plan = memory_plan(model, cache_dir=CACHE, library=library)
    footprint = target_footprint(model, "nano33ble", cache_dir=CACHE, library=library)
    assert footprint is not None
    report = profile(model, "nano33ble", target=footprint)
    assert report.target is not None
    assert plan.total == report.target.arena_used_bytes
    assert report.arena_bytes is not None and abs(report.arena_bytes - plan.total) < 2048


def test_show_memory_plan_says_what_to_install_without_a_toolchain(monkeypatch, tmp_path):
    from tinybench.errors import ToolchainMissingError
    from tinybench.teach import arena_view

    def missing(*args, **kwargs):
        raise ToolchainMissingError("apt-get install -y --no-install-recommends qemu-system-arm")

    monkeypatch.setattr(arena_view, "memory_plan", missing)
    shown = arena_view.show_memory_plan(b"not used")
    assert "apt-get install" in shown._repr_html_() and "apt-get install" in str(shown)
