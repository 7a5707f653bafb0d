"""The NMEA-style line checksum of protocol v1: ``*HH``, the XOR of every byte before ``*``."""

from __future__ import annotations

__all__ = ["checksum", "with_checksum"]


def checksum(body: str | bytes) -> int:
    """Return the NMEA-style XOR of every byte of ``body``.

    Args:
        body: The line without the ``*HH`` suffix and without the newline.
    """
    data = body.encode("latin-1") if isinstance(body, str) else body
    if not data:
        return 0
    # XOR all bytes at C speed: fold the number made of the bytes onto itself.
    value = int.from_bytes(data, "little")
    width = len(data)
    while width > 1:
        half = (width + 1) // 2
        value = (value & ((1 << (8 * half)) - 1)) ^ (value >> (8 * half))
        width = half
    return value


def with_checksum(body: str) -> str:
    """Return ``body`` with its ``*HH`` checksum appended."""
    return f"{body}*{checksum(body):02X}"
