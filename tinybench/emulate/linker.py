"""Link the firmware, pulling in library sources for symbols the first pick left undefined.

:func:`tinybench.emulate.tflm_library.kernel_sources` picks kernels by the registrations the
model's ops use; the helpers those kernels call (CMSIS-NN functions, shared reference code) are
found here instead of in a hand-kept table: link, read the undefined symbols, find the library
source that defines each one at file scope, compile it, link again.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path

from tinybench.emulate.tflm_library import TflmLibrary
from tinybench.emulate.toolchain import ArmToolchain
from tinybench.errors import FirmwareBuildError

__all__ = ["link_resolving", "undefined_symbols"]

_UNDEFINED = re.compile(r"undefined reference to [`']([^']+)'")
_ROUNDS = 6
# File-scope constants and variables: `const int kConvInputTensor = 0;`
_DATA = re.compile(
    r"^(?:extern\s+)?(?:const\s+)?[A-Za-z_][\w:<>]*\s+\*?([A-Za-z_]\w*)\s*(?:=|\[)", re.M
)
_SKIP_PARTS = ("peripherals/", "/examples/", "kissfft", "microfrontend")


def undefined_symbols(linker_output: str) -> list[str]:
    """Return the undefined symbols named in the linker's messages, demangled, in order."""
    return list(dict.fromkeys(_UNDEFINED.findall(linker_output)))


def _identifier(symbol: str) -> str:
    """``tflite::Foo<int>(int, char)`` -> ``Foo``; ``arm_convolve_s8`` stays."""
    name = symbol.split("(", 1)[0]
    name = re.sub(r"<[^<>]*>", "", name)
    return name.split("::")[-1].strip()


@lru_cache(maxsize=4)
def _definitions(src: Path) -> dict[str, tuple[Path, ...]]:
    """Identifiers defined at file scope (a line starting in column 0) -> source files."""
    found: dict[str, list[Path]] = {}
    pattern = re.compile(r"^[A-Za-z_][^;()]*?\b([A-Za-z_]\w*)\s*\(", re.M)
    for path in sorted([*src.rglob("*.cpp"), *src.rglob("*.c")]):
        posix = path.as_posix()
        if any(part in posix for part in _SKIP_PARTS):
            continue
        text = path.read_text(errors="replace")
        for match in pattern.finditer(text):
            line_end = text.find("\n", match.end())
            rest = text[match.end() : line_end if line_end >= 0 else None]
            if rest.rstrip().endswith(";"):
                continue  # a declaration or a call, not a definition
            found.setdefault(match.group(1), []).append(path)
        for match in _DATA.finditer(text):
            found.setdefault(match.group(1), []).append(path)
    return {name: tuple(dict.fromkeys(paths)) for name, paths in found.items()}


def _run_link(tools: ArmToolchain, objects: Sequence[Path], flags: Sequence[str], elf: Path):
    argv = [str(tools.gxx), *flags, *map(str, objects), "-o", str(elf)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)


def link_resolving(
    tools: ArmToolchain,
    library: TflmLibrary,
    objects: dict[Path, Path],
    flags: Sequence[str],
    elf: Path,
    compile_more: Callable[[list[Path]], dict[Path, Path]],
) -> dict[Path, Path]:
    """Link ``objects`` into ``elf``, adding library sources until nothing is undefined.

    Args:
        tools: The cross toolchain.
        library: The TFLM library whose sources may be added.
        objects: Sources already compiled, mapped to their objects.
        flags: Link flags.
        elf: Output file.
        compile_more: Compiles extra library sources and returns their objects.

    Returns:
        The extra sources added, mapped to their objects.

    Raises:
        FirmwareBuildError: The link fails for another reason, or a symbol is defined nowhere
            in the library.
    """
    extra: dict[Path, Path] = {}
    index = _definitions(library.src)
    for _ in range(_ROUNDS):
        result = _run_link(tools, [*objects.values(), *extra.values()], flags, elf)
        if result.returncode == 0:
            return extra
        symbols = undefined_symbols(result.stderr)
        have = {*objects, *extra}
        wanted = []
        for symbol in symbols:
            wanted += [p for p in index.get(_identifier(symbol), ()) if p not in have][:1]
        if not wanted:
            names = ", ".join(symbols[:8])
            hint = f"No source in {library.src} defines {names}. " if symbols else ""
            raise FirmwareBuildError(
                f"Linking {elf.name} failed:\n{result.stderr[-4000:]}\n{hint}This is a tinybench "
                "bug if the export and the library are unmodified; please report it.",
                output=result.stderr,
            )
        extra.update(compile_more(list(dict.fromkeys(wanted))))
    raise FirmwareBuildError(
        f"Linking {elf.name} still fails after {_ROUNDS} rounds of adding library sources."
    )
