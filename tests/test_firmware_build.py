"""Building the emulated Cortex-M4 firmware with arm-none-eabi-g++ and the real TFLM library.

Marked ``firmware``: they skip, with the apt-get command as the reason, where the toolchain or
the library is missing. Library objects are cached by content in build/tflm-cache/, so only
the first build of a run compiles the framework.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest
from firmware_support import CACHE, library_or_skip, toolchain_or_skip

import tinybench
from tinybench.emulate import firmware, linker, toolchain
from tinybench.emulate.tflm_library import find_tflm_library, kernel_sources
from tinybench.errors import (
    ExportError,
    LibraryMissingError,
    ToolchainMissingError,
    UnsupportedOpError,
)

pytestmark = pytest.mark.firmware


@pytest.fixture(scope="module")
def library():
    toolchain_or_skip()
    return library_or_skip()


@pytest.fixture(scope="module")
def hello_export(tmp_path_factory, reference_models_dir) -> Path:
    out = tmp_path_factory.mktemp("hello") / "export"
    tinybench.export_model(reference_models_dir / "hello_world_int8.tflite", out, "hello")
    return out


@pytest.fixture(scope="module")
def hello_build(hello_export, library):
    return firmware.build_firmware(hello_export, cache_dir=CACHE, library=library)


def test_build_reports_sizes_and_split(hello_build, hello_export):
    build = hello_build
    assert build.elf.is_file() and build.map_file.is_file()
    assert build.model_name == "hello"
    assert 20_000 < build.text < 200_000 and build.bss > build.arena_bytes > 0
    model_bytes = (hello_export / "model.tflite").stat().st_size
    # The model array is the model, give or take alignment padding.
    assert model_bytes <= build.flash_split["model"] <= model_bytes + 64
    assert build.flash_split["tflm"] > 10_000 and build.flash_split["kernels"] > 1_000
    assert sum(build.flash_split.values()) == build.text + build.data
    assert sum(build.ram_split.values()) == build.data + build.bss
    assert build.flash_bytes == build.text + build.data


def test_the_export_can_be_written_again_after_a_build(
    hello_build, hello_export, reference_models_dir
):
    assert hello_build.build_dir.parent == hello_export.parent  # beside the export, not inside
    again = tinybench.export_model(
        reference_models_dir / "hello_world_int8.tflite", hello_export, "hello"
    )
    assert again.tflite_path.is_file()


def test_second_build_compiles_nothing(hello_export, library, tmp_path):
    again = firmware.build_firmware(hello_export, tmp_path / "fw", cache_dir=CACHE, library=library)
    assert again.compiled == 0 and again.sources > 30
    assert again.build_seconds < 30


def test_only_the_models_kernels_are_compiled(library):
    sources = kernel_sources(library, ["AddFullyConnected"])
    names = {path.relative_to(library.src).as_posix() for path in sources}
    assert names == {
        "tensorflow/lite/micro/kernels/cmsis_nn/fully_connected.cpp",  # CMSIS-NN, as on Arduino
        "tensorflow/lite/micro/kernels/fully_connected_common.cpp",
    }


def test_an_op_the_library_lacks_is_named(hello_export, library, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(hello_export, export)
    resolver = export / "op_resolver.h"
    text = resolver.read_text().replace(
        "return status;\n}", "if ((status = resolver.AddStablehloComposite()) != kTfLiteOk) "
        "return status;\n  return status;\n}"
    )  # fmt: skip
    resolver.write_text(text)
    settings = json.loads((export / "model_settings.json").read_text())
    settings["files"]["op_resolver.h"] = hashlib.sha256(resolver.read_bytes()).hexdigest()
    (export / "model_settings.json").write_text(json.dumps(settings))  # as if exported so
    with pytest.raises(UnsupportedOpError, match="AddStablehloComposite") as err:
        firmware.build_firmware(export, cache_dir=CACHE, library=library)
    assert err.value.ops == ("AddStablehloComposite",)
    assert "AddFullyConnected" in str(err.value)  # the known ones are listed


def test_incomplete_export_is_refused(hello_export, tmp_path, library):
    with pytest.raises(ExportError, match=r"model_settings\.json"):
        firmware.build_firmware(tmp_path, cache_dir=CACHE, library=library)
    export = tmp_path / "export"
    shutil.copytree(hello_export, export)
    (export / "model_data.cpp").unlink()
    with pytest.raises(ExportError, match=r"model_data\.cpp missing"):
        firmware.build_firmware(export, cache_dir=CACHE, library=library)


def test_a_file_from_another_export_is_refused(hello_export, tmp_path, library):
    export = tmp_path / "export"
    shutil.copytree(hello_export, export)
    header = export / "model_settings.h"
    header.write_text(header.read_text() + "// edited\n")
    with pytest.raises(ExportError, match=r"model_settings\.h.*changed since it was exported"):
        firmware.build_firmware(export, cache_dir=CACHE, library=library)


def test_missing_library_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(LibraryMissingError) as err:
        find_tflm_library({"TINYBENCH_TFLM_LIBRARY": str(tmp_path / "nowhere")})
    message = str(err.value)
    assert "arduino-cli lib install Chirale_TensorFLowLite" in message
    assert str(tmp_path / "nowhere") in message and "TINYBENCH_TFLM_LIBRARY" in message


def test_missing_toolchain_says_how_to_install(monkeypatch):
    monkeypatch.setattr(toolchain.shutil, "which", lambda name: None)
    toolchain.find_arm_toolchain.cache_clear()
    toolchain.find_qemu.cache_clear()
    try:
        with pytest.raises(ToolchainMissingError, match=r"apt-get install") as err:
            toolchain.find_arm_toolchain()
        assert "gcc-arm-none-eabi" in str(err.value)
        with pytest.raises(ToolchainMissingError, match="qemu-system-arm"):
            toolchain.find_qemu()
    finally:
        toolchain.find_arm_toolchain.cache_clear()
        toolchain.find_qemu.cache_clear()


def test_undefined_symbols_are_read_from_the_linker():
    output = (
        "ld: conv.o: in function `Eval':\n"
        "conv.cpp:(.text+0x1c): undefined reference to `arm_convolve_s8'\n"
        "conv.cpp:(.text+0x2c): undefined reference to `tflite::kConvInputTensor'\n"
        "conv.cpp:(.text+0x3c): undefined reference to `arm_convolve_s8'\n"
    )
    assert linker.undefined_symbols(output) == ["arm_convolve_s8", "tflite::kConvInputTensor"]
