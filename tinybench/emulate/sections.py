"""What a linked firmware takes, counted the way the Arduino IDE and ``size`` count it."""

from __future__ import annotations

__all__ = ["LinkedSections"]


class LinkedSections:
    """Flash and static RAM from a firmware's ``text``, ``data`` and ``bss`` section sizes.

    A mixin for the build results of every emulated target (the Cortex-M4 firmware, the AVR
    sketch), which hold ``text``, ``data`` and ``bss`` in bytes.
    """

    text: int
    data: int
    bss: int

    @property
    def flash_bytes(self) -> int:
        """Bytes programmed into flash: ``.text`` plus the initial values of ``.data``."""
        return self.text + self.data

    @property
    def ram_bytes(self) -> int:
        """Static RAM: ``.data`` plus ``.bss``; the stack and the heap come on top."""
        return self.data + self.bss
