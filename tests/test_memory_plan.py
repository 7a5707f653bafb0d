"""The memory plan's parser, labels and figure, on plan text recorded from the emulated board.

No toolchain needed: the texts below are what the firmware sent for ``m`` (see
tests/test_firmware_memory_plan.py for the live check).
"""

from __future__ import annotations

import pytest
from matplotlib.patches import Rectangle

from tinybench.emulate import toolchain
from tinybench.errors import EmulatorError, ProtocolError, ToolchainMissingError
from tinybench.teach.memory_plan import label_plan, memory_plan, parse_plan, plot_memory_plan
from tinybench.teach.tensor_lifetimes import planned_tensors
from tinybench.wire import Dropped, parse_line, with_checksum

# Sent by the firmware for hello_world_int8 (with the hello before it), checksums included.
HELLO_WORLD = """\
#tinybench v=1 board=cortex-m4 sensor=none rate_hz=100 fields=ax,ay,az,gx,gy,gz units=g,g,g,dps,dps,dps imu=none sketch=inference model=hello_world_int8 window=0 input_bytes=1 arena=2976 arena_used=820 model_ok=1 emulated=qemu-mps2-an386 cpu=cortex-m4f clock=icount instructions_per_us=1000*0E
#plan 0,16,16,0,1*21
#plan 1,0,16,1,2*15
#plan 2,16,16,2,3*23
#plan 3,0,16,3,3*14
#plan end peak=32 head=32 tail=788 total=820 buffers=4 dropped=0*18
"""  # noqa: E501

# kws_ref_model: (index, offset, size, first, last), 14 tensors then 6 scratch buffers.
KWS = [
    (0, 8000, 496, 0, 1), (1, 0, 8000, 1, 2), (2, 8000, 8000, 2, 3), (3, 0, 8000, 3, 4),
    (4, 8000, 8000, 4, 5), (5, 0, 8000, 5, 6), (6, 8000, 8000, 6, 7), (7, 0, 8000, 7, 8),
    (8, 8000, 8000, 8, 9), (9, 0, 8000, 9, 10), (10, 8256, 64, 10, 11), (11, 0, 64, 11, 12),
    (12, 64, 16, 12, 13), (13, 0, 16, 13, 13), (14, 8496, 160, 1, 1), (15, 16000, 1152, 2, 2),
    (16, 16000, 1152, 4, 4), (17, 16000, 1152, 6, 6), (18, 16000, 1152, 8, 8),
    (19, 8000, 256, 10, 10),
]  # fmt: skip


def kws_text(end: str = "peak=17152 head=17152 tail=7012 total=24164 buffers=20 dropped=0") -> str:
    lines = [with_checksum("#plan " + ",".join(map(str, row))) for row in KWS]
    return "\n".join([*lines, with_checksum("#plan end " + end)]) + "\n"


def test_plan_lines_are_comments_to_the_host_parser():
    for line in HELLO_WORLD.splitlines()[1:]:
        result = parse_line(line)
        assert isinstance(result, Dropped) and result.reason == "comment"


def test_recorded_plan_parses_and_adds_up():
    plan = parse_plan(HELLO_WORLD)
    assert [(b.offset, b.size, b.first, b.last) for b in plan.buffers] == [
        (16, 16, 0, 1), (0, 16, 1, 2), (16, 16, 2, 3), (0, 16, 3, 3),
    ]  # fmt: skip
    assert (plan.peak, plan.head, plan.tail, plan.total) == (32, 32, 788, 820)
    assert plan.peak + plan.tail == plan.total
    assert not plan.labelled


def test_buffers_get_tensor_names_when_the_flatbuffer_agrees(reference_models_dir):
    plan = parse_plan(kws_text())
    labelled = label_plan(plan, planned_tensors(reference_models_dir / "kws_ref_model.tflite"))
    assert labelled.labelled, labelled.label_problem
    assert labelled.buffers[0].label == "input_1" and labelled.buffers[0].tensor == 0
    assert labelled.buffers[13].label == "Identity"
    assert labelled.buffers[15].label == "scratch of op 1 DEPTHWISE_CONV_2D"
    assert labelled.buffers[15].tensor is None
    assert labelled.op_names[0] == "CONV_2D" and len(labelled.op_names) == 13


def test_labels_are_refused_when_sizes_or_lifetimes_disagree(reference_models_dir):
    plan = parse_plan(HELLO_WORLD)
    other = label_plan(plan, planned_tensors(reference_models_dir / "kws_ref_model.tflite"))
    assert not other.labelled and "the model has 14 tensors" in other.label_problem
    assert all(b.label == "" for b in other.buffers)
    moved = parse_plan(
        HELLO_WORLD.replace("#plan 1,0,16,1,2*15", with_checksum("#plan 1,0,16,1,3"))
    )
    result = label_plan(moved, planned_tensors(reference_models_dir / "hello_world_int8.tflite"))
    assert not result.labelled and "buffer 1" in result.label_problem


def test_figure_has_one_bar_per_buffer_and_marks_the_peak(reference_models_dir):
    plan = label_plan(
        parse_plan(kws_text()), planned_tensors(reference_models_dir / "kws_ref_model.tflite")
    )
    fig = plot_memory_plan(plan)
    ax = fig.axes[0]
    bars = [p for p in ax.patches if isinstance(p, Rectangle) and p.get_hatch() is None]
    assert len(bars) == len(KWS)
    assert sorted(bar.get_height() for bar in bars) == sorted(row[2] for row in KWS)
    assert any(line.get_ydata()[0] == 17152 for line in ax.get_lines())
    assert ax.get_ylim()[1] >= 24164
    assert "17,152" in ax.get_title() and "24,164" in ax.get_title()
    assert hasattr(fig, "_repr_png_") or type(fig).__module__.startswith("matplotlib")


@pytest.mark.parametrize(
    ("text", "error", "match"),
    [
        (HELLO_WORLD.replace("*21", "*22"), ProtocolError, "bad checksum"),
        (HELLO_WORLD.replace("#plan 3,0,16,3,3*14\n", ""), ProtocolError, "4 buffers|3 #plan"),
        (HELLO_WORLD.replace("#plan 2,16,16,2,3*23\n", ""), ProtocolError, "came after"),
        ("#plan 0,16,16,0,1\n", ProtocolError, "no complete '#plan end'"),
        ("#plan zero\n", ProtocolError, "malformed"),
        (kws_text("peak=17152 head=17152 tail=7000 total=24164 buffers=20 dropped=0"),
         ProtocolError, "does not add up"),
        (kws_text("peak=9999 head=17152 tail=7012 total=24164 buffers=20 dropped=0"),
         ProtocolError, "peak=9999"),
        (kws_text("peak=17152 head=17152 tail=7012 total=24164 buffers=20 dropped=3"),
         EmulatorError, "TINYBENCH_PLAN_BUFFERS"),
    ],
)  # fmt: skip
def test_a_bad_answer_is_refused_with_the_reason(text, error, match):
    with pytest.raises(error, match=match):
        parse_plan(text)


def test_missing_toolchain_names_the_apt_get_command(monkeypatch, tmp_path, reference_models_dir):
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    toolchain.find_arm_toolchain.cache_clear()
    toolchain.find_qemu.cache_clear()
    try:
        with pytest.raises(ToolchainMissingError, match="apt-get install"):
            memory_plan(reference_models_dir / "hello_world_int8.tflite")
    finally:
        toolchain.find_arm_toolchain.cache_clear()
        toolchain.find_qemu.cache_clear()


def test_only_the_emulated_board_has_a_plan():
    from tinybench.errors import ConfigError

    with pytest.raises(ConfigError, match="cortex-m4"):
        memory_plan("nowhere", board="nano33ble")
