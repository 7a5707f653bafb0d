"""The real TensorFlow Lite Micro library, compiled for the emulated Cortex-M4.

The library is the one Arduino users install from the Library Manager,
``Chirale_TensorFLowLite``. :func:`find_tflm_library` looks for it where arduino-cli puts it,
or where ``TINYBENCH_TFLM_LIBRARY`` points. :func:`select_sources` picks the framework sources
plus only the kernels the model's ops register, and :func:`compile_sources` compiles them two
at a time into a cache keyed by content, so the second build of any model is quick.
"""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from tinybench.atomic import temporary_name
from tinybench.errors import FirmwareBuildError, LibraryMissingError, UnsupportedOpError
from tinybench.measure.tflm_ops import op_of_resolver_method

__all__ = [
    "LIBRARY_ENV",
    "CompileJob",
    "TflmLibrary",
    "compile_sources",
    "find_tflm_library",
    "kernel_sources",
    "resolver_ops",
]

LIBRARY_ENV = "TINYBENCH_TFLM_LIBRARY"
"""Environment variable naming the library folder (the one holding ``src/``)."""

LIBRARY_NAME = "Chirale_TensorFLowLite"
_INSTALL = f"arduino-cli lib install {LIBRARY_NAME}"

# Framework sources every model needs, relative to src/. Kernels come from the model's ops.
_FRAMEWORK_DIRS = (
    "tensorflow/lite/micro",
    "tensorflow/lite/micro/arena_allocator",
    "tensorflow/lite/micro/memory_planner",
    "tensorflow/lite/micro/tflite_bridge",
    "tensorflow/lite/core/api",
    "tensorflow/lite/core/c",
    "tensorflow/lite/kernels",
    "tensorflow/lite/kernels/internal",
    "tensorflow/lite/schema",
)
_FRAMEWORK_SKIP = {
    "all_ops_resolver.cpp",  # registers every kernel, so it would pull them all in
    "fake_micro_context.cpp",
    "mock_micro_graph.cpp",
    "recording_micro_allocator.cpp",
    "test_helpers.cpp",
    "test_helper_custom_ops.cpp",
    "system_setup.cpp",  # Arduino-only; empty with ARDUINO_EXCLUDE_CODE
}
_KERNEL_SUPPORT = ("kernel_util.cpp", "micro_tensor_utils.cpp")
_KERNEL_DIRS = ("tensorflow/lite/micro/kernels/cmsis_nn", "tensorflow/lite/micro/kernels")
_ADD_CALL = re.compile(r"resolver\.(Add\w+)\(")
_ADD_METHOD = re.compile(r"TfLiteStatus (Add\w+)\((.*?)\n  \}", re.S)
_REGISTER_USE = re.compile(r"Register_(\w+)\(\)")
_REGISTER_DEF = re.compile(r"^TfLiteRegistration(?:_V1)? Register_(\w+)\(\)\s*\{", re.M)


@dataclass(frozen=True)
class TflmLibrary:
    """A TFLM Arduino library on disk.

    Attributes:
        root: The library folder (holds ``library.properties`` and ``src/``).
        version: ``version=`` from ``library.properties``.
    """

    root: Path
    version: str

    @property
    def src(self) -> Path:
        """The ``src/`` folder, the include root of every TFLM header."""
        return self.root / "src"

    def framework_sources(self) -> list[Path]:
        """Return the interpreter, allocator, flatbuffer and support sources (no kernels)."""
        sources = []
        for folder in _FRAMEWORK_DIRS:
            sources += [
                path
                for path in sorted((self.src / folder).glob("*.cpp"))
                if path.name not in _FRAMEWORK_SKIP
            ]
        kernels = self.src / "tensorflow/lite/micro/kernels"
        return sources + [kernels / name for name in _KERNEL_SUPPORT]


CACHE_ENV = "TINYBENCH_TFLM_CACHE"
"""Names the object cache of the TFLM library, shared by every firmware build."""


def object_cache_dir(
    cache_dir: str | os.PathLike[str] | None = None, build_root: str | os.PathLike[str] = "build"
) -> Path:
    """Return the TFLM object cache folder.

    In order: ``cache_dir`` if given, else ``$TINYBENCH_TFLM_CACHE``, else
    ``<build_root>/tflm-cache``.
    """
    return Path(cache_dir or os.environ.get(CACHE_ENV) or Path(build_root) / "tflm-cache")


def _candidates(env: dict[str, str] | os._Environ[str]) -> list[Path]:
    found = []
    if env.get(LIBRARY_ENV):
        found.append(Path(env[LIBRARY_ENV]).expanduser())
    user = env.get("ARDUINO_DIRECTORIES_USER")
    homes = [Path(user)] if user else []
    homes += [Path.home() / "Arduino", Path.home() / "Documents" / "Arduino"]
    for home in homes:
        found += [home / "libraries" / LIBRARY_NAME, home / "libraries" / "Chirale_TensorFlowLite"]
    return found


def find_tflm_library(env: dict[str, str] | None = None) -> TflmLibrary:
    """Find the ``Chirale_TensorFLowLite`` library.

    Looks at ``TINYBENCH_TFLM_LIBRARY`` first, then the arduino-cli libraries folder
    (``$ARDUINO_DIRECTORIES_USER/libraries``, ``~/Arduino/libraries``).

    Args:
        env: Environment to read; defaults to ``os.environ``.

    Raises:
        LibraryMissingError: It is in none of those places; the message lists them and the
            install command.
    """
    candidates = _candidates(os.environ if env is None else env)
    for folder in candidates:
        properties = folder / "library.properties"
        if properties.is_file() and (folder / "src" / "tensorflow").is_dir():
            text = properties.read_text(errors="replace")
            match = re.search(r"^version=(\S+)", text, re.M)
            return TflmLibrary(folder.resolve(), match.group(1) if match else "unknown")
    looked = ", ".join(str(path) for path in candidates)
    raise LibraryMissingError(
        f"The TensorFlow Lite Micro library {LIBRARY_NAME} was not found (looked in: {looked}). "
        f"Install it with `{_INSTALL}`, or point {LIBRARY_ENV} at a copy of the library folder "
        "(the one holding library.properties and src/)."
    )


def resolver_ops(op_resolver_h: Path) -> list[str]:
    """Return the ``MicroMutableOpResolver`` methods an exported ``op_resolver.h`` calls."""
    return _ADD_CALL.findall(op_resolver_h.read_text())


@lru_cache(maxsize=8)
def _registrations(src: Path) -> tuple[dict[str, str], dict[str, Path]]:
    """Map resolver methods to registration names, and registration names to kernel files."""
    header = (src / "tensorflow/lite/micro/micro_mutable_op_resolver.h").read_text()
    methods = {}
    for name, body in _ADD_METHOD.findall(header):
        use = _REGISTER_USE.search(body)
        if use:
            methods[name] = use.group(1)
    files: dict[str, Path] = {}
    for folder in reversed(_KERNEL_DIRS):  # cmsis_nn last, so it wins over the reference
        for path in sorted((src / folder).glob("*.cpp")):
            for registration in _REGISTER_DEF.findall(path.read_text(errors="replace")):
                files[registration] = path
    return methods, files


def kernel_sources(library: TflmLibrary, methods: Sequence[str]) -> list[Path]:
    """Return the kernel sources that the resolver ``methods`` (``AddConv2D``…) need.

    A kernel's ``<name>_common.cpp`` comes along with it; CMSIS-NN versions win over the
    reference ones, as in an Arduino build.

    Raises:
        UnsupportedOpError: A method is not in this library's resolver, or no source defines
            its kernel; ``ops`` lists them.
    """
    by_method, by_registration = _registrations(library.src)
    missing, sources = [], []
    for method in methods:
        registration = by_method.get(method)
        path = by_registration.get(registration or "")
        if path is None:
            missing.append(method)
            continue
        kernels = path.parent.parent if path.parent.name == "cmsis_nn" else path.parent
        common = kernels / f"{path.stem}_common.cpp"
        sources += [path] + ([common] if common.is_file() else [])
    if missing:
        ops = [op_of_resolver_method(method) for method in missing]
        needs = ", ".join(f"{op} ({method})" for op, method in zip(ops, missing, strict=True))
        raise UnsupportedOpError(
            f"The model needs {needs}, which {LIBRARY_NAME} {library.version} at "
            f"{library.root} does not provide, so the firmware cannot be built. Known "
            f"resolver methods: {', '.join(sorted(by_method))}. Re-train without that op or "
            "replace it with supported ones.",
            ops=ops,
        )
    return list(dict.fromkeys(sources))


def _object_name(source: Path, key: str) -> str:
    return f"{source.stem}-{key[:16]}.o"


def _cache_key(source: Path, argv: Sequence[str], salt: str) -> str:
    digest = hashlib.sha256(salt.encode())
    digest.update("\0".join(argv).encode())
    digest.update(source.read_bytes())
    return digest.hexdigest()


def _compile_one(
    compiler: Path, flags: Sequence[str], source: Path, cache: Path, salt: str
) -> tuple[Path, bool]:
    """Compile one source unless its object is cached; return the object and whether it was."""
    key = _cache_key(source, flags, salt)
    target = cache / _object_name(source, key)
    if target.is_file():
        return target, False
    temp = temporary_name(target)
    argv = [str(compiler), *flags, "-c", str(source), "-o", str(temp)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=900, check=False)
    if result.returncode != 0:
        temp.unlink(missing_ok=True)
        raise FirmwareBuildError(
            f"Compiling {source} failed:\n{result.stderr[-4000:]}\nThe command was: "
            f"{' '.join(argv)}",
            output=result.stderr,
        )
    os.replace(temp, target)
    return target, True


@dataclass(frozen=True)
class CompileJob:
    """One source to compile.

    Attributes:
        compiler: The compiler to run.
        source: The source file.
        flags: Flags, without ``-c`` and ``-o``.
    """

    compiler: Path
    source: Path
    flags: tuple[str, ...]


def compile_sources(
    jobs: Iterable[CompileJob], cache: Path, salt: str, workers: int = 2
) -> tuple[dict[Path, Path], int]:
    """Compile sources into ``cache``, reusing objects whose source and flags are unchanged.

    The key of an object is the SHA-256 of ``salt``, the flags and the source's bytes; the
    headers a source includes are stood for by ``salt`` (the compiler's and the library's
    versions, and for our own sources the hash of their header folders).

    Args:
        jobs: What to compile.
        cache: Folder for the objects, named ``<stem>-<key>.o``.
        salt: Extra text in every key.
        workers: Compiles run at once.

    Returns:
        Each source mapped to its object file, and how many were compiled (not cached).

    Raises:
        FirmwareBuildError: A source did not compile; the message holds the compiler output.
    """
    cache.mkdir(parents=True, exist_ok=True)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {
            job.source: pool.submit(_compile_one, job.compiler, job.flags, job.source, cache, salt)
            for job in jobs
        }
        results = {source: future.result() for source, future in futures.items()}
    compiled = sum(1 for _, fresh in results.values() if fresh)
    return {source: obj for source, (obj, _) in results.items()}, compiled
