"""Build firmware for the emulated Cortex-M4 board from an export folder.

The firmware is the real thing a Nano 33 BLE would run, minus the Arduino core: the exported
model (``model_data.cpp``, ``op_resolver.h``, ``model_settings.h``), the inference loop shared
with the Arduino sketch (``arduino_sketches/common/tinybench_inference_core.h``), the real TFLM
library compiled with CMSIS-NN kernels, and a small board layer for QEMU's mps2-an386
(``tinybench/emulate/mps2/``). :func:`build_firmware` returns a :class:`FirmwareBuild` with the
ELF, its sizes from ``arm-none-eabi-size`` and the link map split into model, TFLM framework,
kernels and the rest.
"""

from __future__ import annotations

import hashlib
import logging
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from tinybench.deploy.exported import MODEL_DATA_CPP, ExportedModel, load_exported
from tinybench.emulate import linkmap
from tinybench.emulate.caveats import tflm_library_caveats
from tinybench.emulate.linker import link_resolving
from tinybench.emulate.sections import LinkedSections
from tinybench.emulate.tflm_library import (
    CompileJob,
    TflmLibrary,
    compile_sources,
    find_tflm_library,
    kernel_sources,
    resolver_ops,
)
from tinybench.emulate.toolchain import ArmToolchain, find_arm_toolchain

__all__ = ["BOARD_NAME", "FirmwareBuild", "build_firmware", "compile_flags", "default_build_dir"]

log = logging.getLogger(__name__)

BOARD_NAME = "cortex-m4"
"""The emulated board's name, as in ``tinybench emulate --board cortex-m4``."""

MPS2_DIR = Path(__file__).resolve().parent / "mps2"
_CPU = ("-mcpu=cortex-m4", "-mthumb", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16")
_DEFINES = ("-DARDUINO=10819", "-DARDUINO_EXCLUDE_CODE")
_MEMORY = {"__flash": 0, "__flash_size": 0x400000, "__ram": 0x20000000, "__ram_size": 0x400000}
STACK_BYTES = 0x8000
"""Stack reserved by the link (picolibc's ``__stack_size``)."""


@dataclass(frozen=True)
class FirmwareBuild(LinkedSections):
    """A firmware ELF built for the emulated Cortex-M4 board.

    Attributes:
        elf: The linked firmware.
        map_file: The linker's map, from which the split is read.
        build_dir: Folder holding the ELF and the map.
        export_dir: The export folder it was built from.
        model_name: ``name`` from the export's ``model_settings.json``.
        build_seconds: Wall time of :func:`build_firmware`, compiles included.
        compiled: Sources compiled in this build (the others came from the cache).
        sources: Sources in the build.
        text: ``arm-none-eabi-size`` text bytes (code and constants, the model included).
        data: Initialized RAM bytes (their initial values also take flash).
        bss: Zeroed RAM bytes (the tensor arena is here).
        flash_split: Flash bytes (text, rodata and data) per part: ``model``, ``tflm``,
            ``kernels``, ``rest`` (board layer, inference loop, C library).
        ram_split: RAM bytes (data and bss) per part, the same keys.
        stack_bytes: Stack reserved by the link, not included in ``bss``.
        arena_bytes: The export's ``kTensorArenaSize``, inside ``bss``.
        caveats: Known reasons this library will not match the host TFLM on this model
            (see :mod:`tinybench.emulate.caveats`); empty when none applies.
    """

    elf: Path
    map_file: Path
    build_dir: Path
    export_dir: Path
    model_name: str
    build_seconds: float
    compiled: int
    sources: int
    text: int
    data: int
    bss: int
    flash_split: dict[str, int] = field(default_factory=dict)
    ram_split: dict[str, int] = field(default_factory=dict)
    stack_bytes: int = STACK_BYTES
    arena_bytes: int = 0
    caveats: tuple[str, ...] = ()


def compile_flags(
    library: TflmLibrary, language: str, includes: tuple[Path, ...] = ()
) -> list[str]:
    """Return the compiler flags of a firmware build for ``language`` (``"c"`` or ``"c++"``)."""
    specs = "--specs=picolibcpp.specs" if language == "c++" else "--specs=picolibc.specs"
    flags = [*_CPU, specs, "-O2", "-ffunction-sections", "-fdata-sections", *_DEFINES]
    if language == "c++":
        flags += ["-std=c++17", "-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics"]
    else:
        flags += ["-std=gnu11"]
    for folder in (*includes, library.src):
        flags += ["-I", str(folder)]
    return flags


def _config_defines(exported: ExportedModel) -> tuple[str, ...]:
    """What a sketch's ``tinybench_config.h`` says, as ``-D`` flags."""
    rate = float(exported.sample_rate_hz or 100.0)
    window = int(exported.window or 0)
    return (
        f'-DTINYBENCH_BOARD="{BOARD_NAME}"',
        f"-DTINYBENCH_RATE_HZ={rate!r}",
        f"-DTINYBENCH_HOP_SAMPLES={max(1, window // 4)}",
    )


def _app_salt(salt: str, folders: tuple[Path, ...]) -> str:
    """Key material for the app sources: every header they may include from our folders."""
    digest = hashlib.sha256(salt.encode())
    for folder in folders:
        for path in sorted(folder.iterdir()):
            if path.suffix in (".h", ".cpp") and path.is_file():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _sketches_common() -> Path:
    import tinybench

    return Path(tinybench.__file__).resolve().parent.parent / "arduino_sketches" / "common"


def default_build_dir(export: Path) -> Path:
    """Return where firmware for ``export`` is built: ``<export>.firmware-cortex-m4`` beside it.

    Not inside the export: an export folder is one unit, and re-exporting refuses to replace a
    folder that holds anything else.
    """
    return export.with_name(f"{export.name}.firmware-{BOARD_NAME}")


def build_firmware(
    export_dir: str | os.PathLike[str],
    build_dir: str | os.PathLike[str] | None = None,
    *,
    cache_dir: str | os.PathLike[str] = "build/tflm-cache",
    library: TflmLibrary | None = None,
    jobs: int = 2,
) -> FirmwareBuild:
    """Build the emulated Cortex-M4 firmware for an exported model.

    Args:
        export_dir: Folder written by ``tinybench.export_model``.
        build_dir: Where the ELF and map go; by default :func:`default_build_dir`, beside the
            export (an export folder holds only the export).
        cache_dir: Object cache shared by all builds, keyed by source content and flags.
        library: The TFLM library; found with :func:`find_tflm_library` when ``None``.
        jobs: Compiles to run at once.

    Returns:
        The build, with sizes and the link-map split.

    Raises:
        ExportError: ``export_dir`` is not a complete export, or a file in it does not
            belong to it (checked against its manifest by :func:`load_exported`).
        ToolchainMissingError: arm-none-eabi-g++ or picolibc is missing.
        LibraryMissingError: The TFLM library was not found.
        UnsupportedOpError: The model uses an op the library does not provide.
        FirmwareBuildError: A compile or the link failed.
    """
    start = time.perf_counter()
    exported = load_exported(Path(export_dir).resolve())
    export = exported.out_dir
    tools = find_arm_toolchain()
    library = library or find_tflm_library()
    out = Path(build_dir) if build_dir is not None else default_build_dir(export)
    out.mkdir(parents=True, exist_ok=True)
    builder = _Builder(tools, library, Path(cache_dir), jobs)
    lib_sources = library.framework_sources()
    lib_sources += kernel_sources(library, resolver_ops(exported.op_resolver_h))
    objects = builder.library_objects(lib_sources)
    includes = (export, _sketches_common(), MPS2_DIR)
    objects.update(builder.app_objects(export, includes, _config_defines(exported)))
    elf, map_file = out / "firmware.elf", out / "firmware.map"
    objects.update(link_resolving(tools, library, objects, _link_flags(map_file), elf,
                                  builder.library_objects))  # fmt: skip
    text, data, bss = _size(tools, elf)
    flash, ram = linkmap.split(map_file, _categories(library, export, objects))
    # The map lists input sections before string merging, so "rest" is the remainder.
    flash["rest"] = text + data - sum(v for k, v in flash.items() if k != "rest")
    ram["rest"] = data + bss - sum(v for k, v in ram.items() if k != "rest")
    caveats = tflm_library_caveats(exported.tflite_path)
    for caveat in caveats:
        log.warning("%s: %s", export, caveat)
    return FirmwareBuild(
        elf=elf, map_file=map_file, build_dir=out, export_dir=export,
        model_name=exported.name,
        build_seconds=time.perf_counter() - start, compiled=builder.compiled,
        sources=len(objects), text=text, data=data, bss=bss, flash_split=flash, ram_split=ram,
        arena_bytes=exported.arena_size, caveats=caveats,
    )  # fmt: skip


class _Builder:
    """Compiles library and firmware sources into the shared cache, counting real compiles."""

    def __init__(self, tools: ArmToolchain, library: TflmLibrary, cache: Path, jobs: int):
        self.tools, self.library, self.cache, self.jobs = tools, library, cache, jobs
        self.salt = f"{tools.version}\n{library.root}\n{library.version}"
        self.compiled = 0

    def _job(
        self, source: Path, includes: tuple[Path, ...] = (), defines: tuple[str, ...] = ()
    ) -> CompileJob:
        language = "c" if source.suffix == ".c" else "c++"
        compiler = self.tools.gcc if language == "c" else self.tools.gxx
        flags = (*compile_flags(self.library, language, includes), *defines)
        return CompileJob(compiler, source, flags)

    def library_objects(self, sources: list[Path]) -> dict[Path, Path]:
        objects, compiled = compile_sources(
            [self._job(source) for source in sources], self.cache, self.salt, self.jobs
        )
        self.compiled += compiled
        return objects

    def app_objects(
        self, export: Path, includes: tuple[Path, ...], defines: tuple[str, ...]
    ) -> dict[Path, Path]:
        sources = [MPS2_DIR / "firmware_main.cpp", MPS2_DIR / "mps2_board.cpp"]
        sources.append(export / MODEL_DATA_CPP)
        jobs = [self._job(source, includes, defines) for source in sources]
        objects, compiled = compile_sources(
            jobs, self.cache, _app_salt(self.salt, includes), self.jobs
        )
        self.compiled += compiled
        return objects


def _link_flags(map_file: Path) -> list[str]:
    flags = [*_CPU, "--specs=picolibcpp.specs", "--oslib=semihost", "-Wl,--gc-sections"]
    flags += [f"-Wl,--defsym={name}={value:#x}" for name, value in _MEMORY.items()]
    flags += [f"-Wl,--defsym=__stack_size={STACK_BYTES:#x}", f"-Wl,-Map={map_file}"]
    return flags


_KERNEL_PREFIXES = (
    "tensorflow/lite/micro/kernels",
    "third_party/cmsis_nn",
    "tensorflow/lite/kernels/internal",
)


def _categories(library: TflmLibrary, export: Path, objects: dict[Path, Path]) -> dict[str, str]:
    """Map each object file's name to ``model``, ``tflm``, ``kernels`` or ``rest``."""
    result = {}
    for source, obj in objects.items():
        if source == export / MODEL_DATA_CPP:
            kind = "model"
        elif source.is_relative_to(library.src):
            relative = source.relative_to(library.src).as_posix()
            kind = "kernels" if relative.startswith(_KERNEL_PREFIXES) else "tflm"
        else:
            kind = "rest"
        result[obj.name] = kind
    return result


def _size(tools: ArmToolchain, elf: Path) -> tuple[int, int, int]:
    """``arm-none-eabi-size`` text, data and bss of ``elf`` (Berkeley format)."""
    result = subprocess.run(
        [str(tools.size), "-B", str(elf)], capture_output=True, text=True, timeout=60, check=True
    )
    text, data, bss = result.stdout.splitlines()[1].split()[:3]
    return int(text), int(data), int(bss)
