"""Exporting models as C++: array round trips, op resolvers, settings, and the host compiler.

Every reference model is exported, its generated array parsed back and compared with the
.tflite bytes, and the generated files compiled with g++ -std=c++17 -Wall -Werror against the
real TFLM library (the Arduino library in ../shared/vendor, skipped with the install command
without it) and run (tests/cpp/check_export.cpp, which needs no TFLM).
Models the tests need beyond those are built in code by
:func:`model_factories.build_imu_model`, without TensorFlow.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from cpp_build import gxx, needs_gxx, run_program
from firmware_support import library_or_skip
from hypothesis import given, settings
from hypothesis import strategies as st
from model_factories import build_imu_model
from reference_models import REFERENCE_MODELS

from tinybench.deploy.c_source import c_string_literal
from tinybench.deploy.export import export_model
from tinybench.deploy.exported import EXPORT_FILES, ExportedModel, load_exported
from tinybench.errors import ExportError, ModelError, UnsupportedOpError
from tinybench.measure import (
    TFLM_CUSTOM_RESOLVER_METHODS,
    TFLM_RESOLVER_METHODS,
    read_model,
    tflm_resolver_method,
)
from tinybench.measure.arena import SKETCH_ARENA_MARGIN, tensor_arena_size
from tinybench.measure.tflm_ops import (
    ARDUINO_LIBRARY,
    ARDUINO_LIBRARY_LACKS,
    op_of_resolver_method,
)

REPO = Path(__file__).resolve().parents[1]
CPP = REPO / "tests" / "cpp"
REFERENCE_NAMES = sorted(path.name for path in REFERENCE_MODELS.glob("*.tflite"))

# The hardest labels for C escaping that the serial protocol can still carry.
NASTY_LABELS = [
    'say"hi"',
    "back\\slash",
    "tri??/graph??(",
    "\\x41\\101",
    "'single'",
    "octal\\0_7",
    "#hash",
    "?",
]
# Labels the protocol's hello line cannot carry, and why.
UNCROSSABLE_LABELS = [
    ("two words", "space"),
    ("a,b", "','"),
    ("x=1", "'='"),
    ("star*", "\\*"),
    ("héllo", "non-ASCII"),
    ("👋", "not ASCII"),
    ("", "''"),
    ("tab\there", "dropped|read back"),
    ("nul\0", "NUL"),
    ("new\nline", "space|read back"),
]


@dataclass(frozen=True)
class FakeVariant:
    """Duck-typed stand-in for tinybench.optimize.Variant."""

    tflite: bytes
    labels: tuple[str, ...] = ("idle", "wave", "punch")
    name: str = "int8-ptq"
    input_window: int | None = 8
    rate_hz: float | None = 119.0
    normalization: object = None
    runnable_on_mcu: bool = True
    reason: str = ""
    extra: dict = field(default_factory=dict)


# --- helpers -------------------------------------------------------------------------------


def parse_array(source: str, name: str) -> bytes:
    """Bytes of the generated ``g_<name>_model_data`` array, parsed from the .cpp text."""
    match = re.search(r"\{\n(.*?)\n\};", source, re.S)
    assert match, "no array initializer in model_data.cpp"
    return bytes(int(token, 16) for token in re.findall(r"0x([0-9a-f]{2})", match.group(1)))


def compile_standalone(exported: ExportedModel, work: Path) -> None:
    """Compile each generated file on its own: each must be self-contained."""
    gxx("-c", exported.model_data_cpp, "-o", work / "model_data.o")
    library = library_or_skip()
    for header in (exported.model_data_h, exported.model_settings_h, exported.op_resolver_h):
        gxx("-I", library.src, "-x", "c++", "-c", header, "-o", work / f"{header.stem}.o")


def run_check_program(exported: ExportedModel, work: Path) -> tuple[bytes, dict[str, list]]:
    """Build check_export.cpp against the export, run it, return the array bytes and facts."""
    program = work / "check_export"
    gxx(
        "-I",
        exported.out_dir,
        CPP / "check_export.cpp",
        exported.model_data_cpp,
        "-o",
        program,
    )
    bytes_path = work / "array.bin"
    facts: dict[str, list] = {}
    for line in run_program(program, bytes_path).splitlines():
        key, _, rest = line.partition(" ")
        facts.setdefault(key, []).append(rest.split(" ") if key != "label" else rest)
    return bytes_path.read_bytes(), facts


def check_tensor(fact: list[str], shape, dtype: str, scale: float, zero_point: int) -> None:
    rank = int(fact[0])
    assert tuple(int(d) for d in fact[1 : 1 + rank]) == tuple(shape)
    elements, nbytes, ctype, is_int8, is_f32, c_scale, c_zp = fact[1 + rank :]
    assert int(elements) == math.prod(shape)
    assert int(nbytes) == math.prod(shape) * np.dtype(dtype).itemsize
    assert (ctype, is_int8, is_f32) == (
        dtype,
        str(int(dtype == "int8")),
        str(int(dtype == "float32")),
    )
    assert float.fromhex(c_scale) == float(np.float32(scale))
    assert int(c_zp) == zero_point


# --- every reference model -----------------------------------------------------------------


@pytest.fixture(scope="module", params=REFERENCE_NAMES)
def reference_export(request, reference_models_dir, tmp_path_factory):
    path = reference_models_dir / request.param
    out = tmp_path_factory.mktemp("export") / path.stem
    return path, export_model(path, out, name=re.sub(r"\W", "_", path.stem))


def test_all_reference_models_are_exported(reference_models_dir):
    assert len(REFERENCE_NAMES) >= 6, REFERENCE_NAMES


def test_reference_array_parses_back_to_the_tflite_bytes(reference_export):
    path, exported = reference_export
    data = path.read_bytes()
    source = exported.model_data_cpp.read_text()
    assert parse_array(source, exported.name) == data
    assert f"const unsigned int g_{exported.name}_model_data_len = {len(data)};" in source
    assert f"alignas(16) const unsigned char g_{exported.name}_model_data[] = {{" in source
    assert f"alignas(16) const unsigned char g_{exported.name}_model_data[] PROGMEM = {{" in source
    assert exported.tflite_path.read_bytes() == data
    assert exported.model_bytes == len(data)


def test_reference_resolver_registers_exactly_the_models_ops(reference_export):
    path, exported = reference_export
    info = read_model(path.read_bytes())
    header = exported.op_resolver_h.read_text()
    methods = re.findall(r"resolver\.(Add\w+)\(\)", header)
    assert methods == [tflm_resolver_method(op) for op in info.op_names]
    assert len(set(methods)) == len(methods) == len(info.op_names)
    assert f"constexpr int kModelOpCount = {len(info.op_names)};" in header
    assert "tflite::MicroMutableOpResolver<kModelOpCount>" in header
    assert exported.op_names == info.op_names


def test_reference_settings_and_arena(reference_export):
    path, exported = reference_export
    info = read_model(path.read_bytes())
    (tensor_in,), (tensor_out,) = info.inputs, info.outputs
    assert (exported.input, exported.output) == (tensor_in, tensor_out)
    settings = json.loads(exported.settings_json.read_text())
    reported = settings["arena"]["reported_bytes"]
    assert exported.arena_size % 16 == 0
    # kTensorArenaSize is the one arena rule, the one the budget counts.
    assert exported.arena_size == tensor_arena_size(reported, exported.arena_bytes)
    assert exported.arena_size >= exported.arena_bytes + 16 + SKETCH_ARENA_MARGIN
    assert settings["arena"]["bytes"] == exported.arena_size
    assert settings["arena"]["measured_bytes"] >= settings["arena"]["reported_bytes"] > 0
    assert settings["ops"] == list(info.op_names)
    assert load_exported(exported.out_dir) == exported


@needs_gxx
def test_reference_export_compiles_standalone_and_runs(reference_export, tmp_path):
    path, exported = reference_export
    compile_standalone(exported, tmp_path)
    array, facts = run_check_program(exported, tmp_path)
    assert array == path.read_bytes()
    assert facts["len"] == [[str(len(array))]] and facts["aligned"] == [["1"]]
    check_tensor(
        facts["input"][0],
        exported.input.shape,
        exported.input.dtype,
        exported.input.scale,
        exported.input.zero_point,
    )
    check_tensor(
        facts["output"][0],
        exported.output.shape,
        exported.output.dtype,
        exported.output.scale,
        exported.output.zero_point,
    )
    assert facts["arena"] == [[str(exported.arena_bytes), str(exported.arena_size)]]


# --- labels, settings and variants ---------------------------------------------------------


@needs_gxx
def test_labels_survive_c_escaping_byte_for_byte(tmp_path):
    model = build_imu_model(classes=len(NASTY_LABELS))
    exported = export_model(model, tmp_path / "export", "nasty", labels=NASTY_LABELS)
    settings_h = exported.model_settings_h.read_text(encoding="ascii")  # pure ASCII
    assert "??" not in settings_h  # no trigraphs
    _, facts = run_check_program(exported, tmp_path)
    got = [bytes.fromhex(hexed) for hexed in facts["label"]]
    assert got == [label.encode("utf-8") for label in NASTY_LABELS]
    expected_text = sum(len(label.encode()) + 1 for label in NASTY_LABELS)
    assert facts["labels_end"] == [["1", str(expected_text)]]
    assert load_exported(exported.out_dir).labels == tuple(NASTY_LABELS)


def c_unescape(literal: str) -> bytes:
    """Decode a C string literal made of the escapes c_string_literal uses."""
    assert literal[0] == literal[-1] == '"'
    simple = {
        '"': 34,
        "\\": 92,
        "?": 63,
        "a": 7,
        "b": 8,
        "f": 12,
        "n": 10,
        "r": 13,
        "t": 9,
        "v": 11,
    }
    out, i, body = bytearray(), 0, literal[1:-1]
    while i < len(body):
        if body[i] != "\\":
            assert body[i] != '"'
            out.append(ord(body[i]))
            i += 1
        elif body[i + 1] in simple:
            out.append(simple[body[i + 1]])
            i += 2
        else:
            out.append(int(body[i + 1 : i + 4], 8))
            i += 4
    return bytes(out)


@settings(max_examples=300)
@given(st.text())
def test_c_string_literal_is_ascii_and_decodes_to_the_utf8_bytes(text):
    literal = c_string_literal(text)
    assert literal.isascii() and "??" not in literal
    assert c_unescape(literal) == text.encode("utf-8")


@needs_gxx
def test_variant_settings_reach_the_header(tmp_path):
    norm = {
        "fields": ["ax", "ay", "az", "gx", "gy", "gz"],
        "mean": [0.1, -0.2, 0.98, 1.5, -3, 0],
        "std": [0.3, 0.3, 0.25, 120.5, 99.9, 1e-3],
    }
    variant = FakeVariant(build_imu_model(window=8), normalization=norm)
    exported = export_model(variant, tmp_path / "export", "gesture")
    assert exported.labels == ("idle", "wave", "punch")
    assert (exported.window, exported.sample_rate_hz, exported.variant) == (8, 119.0, "int8-ptq")
    assert exported.normalization == norm
    assert (exported.input.nbytes, exported.output.nbytes) == (48, 3)
    _, facts = run_check_program(exported, tmp_path)
    window, rate = facts["window"][0]
    assert int(window) == 8 and float.fromhex(rate) == 119.0
    count, *values = facts["norm"][0]
    assert int(count) == 6
    expected = np.float32(norm["mean"] + norm["std"]).tolist()
    assert [float.fromhex(v) for v in values] == expected
    # Explicit arguments win over the variant's.
    again = export_model(
        variant,
        tmp_path / "again",
        "gesture",
        labels=["a", "b", "c"],
        window=4,
        sample_rate_hz=50,
        normalization=None,
    )
    assert (again.labels, again.window, again.sample_rate_hz) == (("a", "b", "c"), 4, 50.0)
    assert again.normalization == norm  # None means "the variant's"


def test_normalization_object_and_window_from_the_input_shape(tmp_path):
    from tinybench.dataset import Normalization

    norm = Normalization(("a", "b"), (1.0, 2.0), (3.0, 4.0))
    exported = export_model(build_imu_model(window=5, fields=2), tmp_path, normalization=norm)
    assert exported.window == 5  # from the (1, 5, 2) input
    assert exported.normalization == {"mean": [1.0, 2.0], "std": [3.0, 4.0], "fields": ["a", "b"]}
    assert exported.labels == () and exported.sample_rate_hz is None
    text = exported.model_settings_h.read_text()
    assert "constexpr int kLabelCount = 0;" in text
    assert "constexpr const char* kLabels[kLabelCount + 1] = {nullptr};" in text


def test_float32_model(tmp_path):
    exported = export_model(build_imu_model(dtype="float32"), tmp_path, "floaty")
    assert (exported.input.dtype, exported.input.scale) == ("float32", 0.0)
    assert exported.input.nbytes == 8 * 6 * 4
    text = exported.model_settings_h.read_text()
    assert "constexpr bool kInputIsFloat32 = true;" in text
    assert "constexpr bool kInputIsInt8 = false;" in text


def test_unchanged_files_are_not_rewritten(tmp_path):
    model = build_imu_model()
    exported = export_model(model, tmp_path, labels=["a", "b", "c"])
    files = [*exported.source_files, exported.tflite_path, exported.settings_json]
    before = {path: path.stat().st_mtime_ns for path in files}
    export_model(model, tmp_path, labels=["a", "b", "c"])
    assert {path: path.stat().st_mtime_ns for path in files} == before
    export_model(model, tmp_path, labels=["a", "b", "new"])
    changed = {path.name for path in files if path.stat().st_mtime_ns != before[path]}
    assert changed == {"model_settings.h", "model_settings.json"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [*EXPORT_FILES, "model.tflite", "model_settings.json"]
    )


# --- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["1model", "my-model", "", "modèle", "a b", "x;y", None, 3])
def test_name_must_be_a_c_identifier(tmp_path, name):
    with pytest.raises(ExportError, match="not a C identifier") as err:
        export_model(build_imu_model(), tmp_path, name)
    assert repr(name) in str(err.value)
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (b"", "empty"),
        (b"\x00" * 64, "TFL3"),
        (b"PK\x03\x04 a zip file, not a model", "TFL3"),
        (12345, "a int"),
    ],
)
def test_bad_model_bytes(tmp_path, model, message):
    with pytest.raises(ModelError, match=message):
        export_model(model, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_path_and_folder(tmp_path):
    with pytest.raises(ModelError, match="No model file at") as err:
        export_model(tmp_path / "nope.tflite", tmp_path / "out")
    assert "nope.tflite" in str(err.value)
    with pytest.raises(ExportError, match="is a folder"):
        export_model(tmp_path, tmp_path / "out")


def test_corrupt_flatbuffer(tmp_path):
    data = build_imu_model()
    with pytest.raises(ModelError):
        export_model(data[:40], tmp_path)


def test_ops_tflm_lacks_raise_unsupported_op_error(tmp_path):
    with pytest.raises(UnsupportedOpError, match="DENSIFY") as err:
        export_model(build_imu_model(op="DENSIFY"), tmp_path / "out")
    assert err.value.ops == ("DENSIFY",)
    assert not (tmp_path / "out").exists()


def test_a_model_with_two_outputs_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    import dataclasses

    import tinybench.measure

    data = build_imu_model()
    info = read_model(data)
    two_outputs = dataclasses.replace(info, outputs=(info.outputs[0], info.outputs[0]))
    monkeypatch.setattr(tinybench.measure, "read_model", lambda _: two_outputs)
    with pytest.raises(ExportError, match=r"1 inputs and 2 outputs; .*exactly one of each"):
        export_model(data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_variant_not_runnable_on_a_microcontroller(tmp_path):
    variant = FakeVariant(
        build_imu_model(), name="float16", runnable_on_mcu=False, reason="float16 weights"
    )
    with pytest.raises(ExportError, match="'float16' cannot run on a microcontroller: float16"):
        export_model(variant, tmp_path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"labels": ["a", "b"]}, "3 output values but 2 labels"),
        ({"labels": "abc"}, "single string"),
        ({"labels": ["a", 2, "c"]}, "must be strings"),
        ({"labels": ["a", "b\0", "c"]}, "NUL"),
        ({"window": 0}, "window must be a positive"),
        ({"window": 2.5}, "window must be a positive"),
        ({"sample_rate_hz": -1}, "sample_rate_hz must be a positive"),
        ({"sample_rate_hz": "fast"}, "sample_rate_hz must be a positive"),
        ({"normalization": {"mean": [0, 1], "std": [1]}}, "as many means as stds"),
        ({"normalization": {"mean": [0], "std": [0]}}, "positive finite stds"),
        ({"normalization": {"mean": [float("nan")], "std": [1]}}, "finite means"),
        ({"arena_margin": -1}, "arena_margin"),
    ],
)
def test_bad_settings(tmp_path, kwargs, message):
    with pytest.raises(ExportError, match=message):
        export_model(build_imu_model(), tmp_path / "out", **kwargs)
    assert not (tmp_path / "out").exists()


def test_load_exported_detects_missing_and_changed_files(tmp_path):
    with pytest.raises(ExportError, match="folder is missing"):
        load_exported(tmp_path / "nowhere")
    with pytest.raises(ExportError, match=r"model_settings\.json in the folder is missing"):
        load_exported(tmp_path)
    exported = export_model(build_imu_model(), tmp_path / "export", labels=["a", "b", "c"])
    assert exported.read_tflite() == build_imu_model()
    exported.op_resolver_h.unlink()
    with pytest.raises(ExportError, match=r"incomplete: op_resolver\.h missing"):
        load_exported(exported.out_dir)
    export_model(build_imu_model(), tmp_path / "export", labels=["a", "b", "c"])
    exported.tflite_path.write_bytes(build_imu_model(seed=1))
    with pytest.raises(ExportError, match="changed since it was exported"):
        load_exported(exported.out_dir)
    exported.settings_json.write_text('{"format": "something else"}')
    with pytest.raises(ExportError, match="not a tinybench export"):
        load_exported(exported.out_dir)


def test_the_arduino_library_lacks_exactly_the_ops_tinybench_says():
    library = library_or_skip()
    header = (library.src / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    real = set(re.findall(r"TfLiteStatus (Add\w+)\(", header))
    ours = set(TFLM_RESOLVER_METHODS.values()) | set(TFLM_CUSTOM_RESOLVER_METHODS.values())
    lacking = {op_of_resolver_method(method) for method in ours - real}
    assert lacking == ARDUINO_LIBRARY_LACKS
    properties = (library.root / "library.properties").read_text()
    name = re.search(r"^name=(.+)$", properties, re.MULTILINE).group(1)
    assert f"{name} {library.version}" == ARDUINO_LIBRARY


def test_export_never_imports_tensorflow(tmp_path):
    code = (
        "import sys\n"
        "from tinybench.deploy.export import export_model\n"
        f"export_model({str(tmp_path / 'm.tflite')!r}, {str(tmp_path / 'out')!r})\n"
        "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
        "assert 'tf_keras' not in sys.modules\n"
    )
    (tmp_path / "m.tflite").write_bytes(build_imu_model())
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out" / "model_data.cpp").is_file()


def test_an_export_stands_in_for_a_variant_downstream(tmp_path):
    from tinybench.measure.budget import check_budget

    exported = export_model(build_imu_model(), tmp_path, labels=["a", "b", "c"])
    assert exported.tflite == build_imu_model()
    report = check_budget(exported, "nano33ble")
    assert report.model_bytes == exported.model_bytes
    assert report.arena_bytes is not None and report.arena_bytes <= exported.arena_size


def test_a_real_variant_exports_with_its_settings(tmp_path):
    from tinybench.dataset import Normalization
    from tinybench.optimize import Recipe, Variant

    norm = Normalization(("ax", "ay", "az", "gx", "gy", "gz"), (0.0,) * 6, (1.0,) * 3 + (90.0,) * 3)
    variant = Variant(
        name="int8",
        recipe=Recipe("int8"),
        tflite=build_imu_model(window=8),
        labels=("idle", "wave", "punch"),
        input_shape=(8, 6),
        normalization=norm.to_dict(),
        runnable_on_mcu=True,
        window=8,
        rate_hz=119.0,
    )
    exported = export_model(variant, tmp_path, "gesture")
    assert (exported.variant, exported.labels) == ("int8", ("idle", "wave", "punch"))
    assert (exported.window, exported.sample_rate_hz) == (8, 119.0)
    assert exported.normalization == norm.to_dict()
    assert Normalization.from_dict(load_exported(tmp_path).normalization) == norm


# --- an export is a unit -------------------------------------------------------------------


@pytest.mark.parametrize(("label", "reason"), UNCROSSABLE_LABELS)
def test_labels_the_protocol_cannot_carry_are_refused_with_the_reason(tmp_path, label, reason):
    labels = ["idle", label, "punch"]
    with pytest.raises(ExportError, match="cannot cross the serial protocol") as err:
        export_model(build_imu_model(), tmp_path / "out", labels=labels)
    assert repr(label) in str(err.value)
    assert re.search(reason, str(err.value)), str(err.value)
    assert not (tmp_path / "out").exists()


def test_accepted_labels_cross_the_hello_line_unchanged():
    from tinybench.deploy.export_inputs import label_problem
    from tinybench.wire import Hello, format_hello, parse_line

    for label in NASTY_LABELS:
        assert label_problem(label) is None, label
        line = format_hello(Hello(board="x", labels=(label, "b"))).encode()
        assert parse_line(line).labels == (label, "b")


def test_a_write_failing_part_way_leaves_the_old_export_whole(tmp_path, monkeypatch):
    import tinybench.deploy.export as export_module

    out = tmp_path / "export"
    old = export_model(build_imu_model(), out, labels=["a", "b", "c"])
    real_write, calls = export_module.atomic_write, []

    def failing_write(path, data, **kwargs):
        calls.append(path)
        if len(calls) == 3:
            raise OSError(28, "No space left on device")
        return real_write(path, data, **kwargs)

    monkeypatch.setattr(export_module, "atomic_write", failing_write)
    with pytest.raises(ExportError, match="No space left on device") as err:
        export_model(build_imu_model(seed=1), out, labels=["x", "y", "z"])
    assert "Nothing was changed" in str(err.value)
    assert len(calls) == 3  # two files of the new model were written before the failure
    assert load_exported(out) == old  # the old export, every file of it
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]  # no temporaries left


def test_an_interrupt_part_way_leaves_the_old_export_whole(tmp_path, monkeypatch):
    import tinybench.deploy.export as export_module

    out = tmp_path / "export"
    old = export_model(build_imu_model(), out, labels=["a", "b", "c"])

    def interrupted(path, data, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(export_module, "atomic_write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_model(build_imu_model(seed=1), out, labels=["x", "y", "z"])
    assert load_exported(out) == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["export"]


@pytest.mark.parametrize("swapped", [*EXPORT_FILES, "model.tflite"])
def test_a_folder_mixing_two_exports_is_refused(tmp_path, swapped):
    from tinybench.deploy.sketch import render_sketch

    first = export_model(build_imu_model(), tmp_path / "a", "gesture", labels=["a", "b", "c"])
    other = export_model(build_imu_model(seed=1), tmp_path / "b", "gesture", labels=["x", "y", "z"])
    (first.out_dir / swapped).write_bytes((other.out_dir / swapped).read_bytes())
    with pytest.raises(ExportError, match="does not hold one model") as err:
        load_exported(first.out_dir)
    assert swapped in str(err.value)
    with pytest.raises(ExportError, match=swapped.replace(".", r"\.")):
        render_sketch("nano33ble", first, tmp_path / "sketch")
    with pytest.raises(ExportError, match="does not hold one model"):
        render_sketch("nano33ble", first.out_dir, tmp_path / "sketch")


def test_a_c_array_of_another_model_is_refused_even_with_a_matching_manifest(tmp_path):
    """The manifest is checked, and so is the array against the model's own SHA-256."""
    import hashlib

    exported = export_model(build_imu_model(), tmp_path / "a", labels=["a", "b", "c"])
    other = export_model(build_imu_model(seed=1), tmp_path / "b", labels=["a", "b", "c"])
    swapped = (other.out_dir / "model_data.cpp").read_bytes()
    (exported.out_dir / "model_data.cpp").write_bytes(swapped)
    settings = json.loads(exported.settings_json.read_text())
    settings["files"]["model_data.cpp"] = hashlib.sha256(swapped).hexdigest()
    exported.settings_json.write_text(json.dumps(settings))
    with pytest.raises(ExportError, match=r"the C array in model_data\.cpp is not the model"):
        load_exported(exported.out_dir)


def test_an_export_refuses_to_replace_a_folder_with_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match=r"holds other files \(notes\.txt\)"):
        export_model(build_imu_model(), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("out", ["", "  "])
def test_an_empty_out_dir_is_refused(tmp_path, out):
    with pytest.raises(ExportError, match=r"an empty path") as err:
        export_model(build_imu_model(), out)
    assert repr(out) in str(err.value)


def test_cli_refuses_an_empty_out(tmp_path, capsys):
    from tinybench.cli import main

    model = tmp_path / "m.tflite"
    model.write_bytes(build_imu_model())
    with pytest.raises(SystemExit) as exit_:
        main(["export", str(model), "--out", ""])
    assert exit_.value.code == 2
    error = capsys.readouterr().err
    assert "argument --out" in error and "''" in error and "empty path" in error
