"""Read a GNU ld link map: bytes per input object, summed into flash and RAM per part."""

from __future__ import annotations

import re
from pathlib import Path

__all__ = ["PARTS", "split"]

PARTS = ("model", "tflm", "kernels", "rest")
"""The parts a firmware's bytes are split into, in report order."""

_ONE_LINE = re.compile(r"^ (\.\S+|COMMON)\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)")
_NAME_ONLY = re.compile(r"^ (\.\S+|COMMON)\s*$")
_CONTINUED = re.compile(r"^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S+)")
_FLASH_ONLY = (
    ".text",
    ".rodata",
    ".init",
    ".fini",
    ".preinit_array",
    ".ARM.exidx",
    ".ARM.extab",
    ".glue",
    ".vfp11",
    ".v4_bx",
    ".iplt",
    ".eh_frame",
    ".except",
)


def _entries(text: str):
    """Yield ``(section, size, object)`` for every input section placed in the output."""
    start = text.find("Linker script and memory map")
    lines = text[start:].splitlines() if start >= 0 else []
    pending = None
    for line in lines:
        if pending is not None:
            match = _CONTINUED.match(line)
            if match:
                yield pending, int(match.group(2), 16), match.group(3)
            pending = None
            continue
        match = _ONE_LINE.match(line)
        if match:
            yield match.group(1), int(match.group(3), 16), match.group(4)
            continue
        match = _NAME_ONLY.match(line)
        if match:
            pending = match.group(1)


def _memory(section: str) -> tuple[bool, bool]:
    """(in flash, in RAM) for an input section name."""
    if section.startswith((".bss", ".tbss", ".noinit")) or section == "COMMON":
        return False, True
    if section.startswith((".data", ".tdata")):
        return True, True
    if section.startswith(_FLASH_ONLY):
        return True, False
    return False, False


def split(map_file: Path, categories: dict[str, str]) -> tuple[dict[str, int], dict[str, int]]:
    """Sum flash and RAM bytes per part.

    Args:
        map_file: The ``-Wl,-Map`` output.
        categories: Object file name -> part (``model``, ``tflm``, ``kernels``); objects not
            named (C library, startup code) count as ``rest``.

    Returns:
        ``(flash, ram)``, each a dict over :data:`PARTS`.
    """
    flash = dict.fromkeys(PARTS, 0)
    ram = dict.fromkeys(PARTS, 0)
    for section, size, obj in _entries(map_file.read_text(errors="replace")):
        part = categories.get(Path(obj).name, "rest")
        in_flash, in_ram = _memory(section)
        if in_flash:
            flash[part] += size
        if in_ram:
            ram[part] += size
    return flash, ram
