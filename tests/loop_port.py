"""Playing the board over loop://: what a test writes into the port, the link reads back."""

from __future__ import annotations

from tinybench.wire.link import Link


def feed(link: Link, *lines: str) -> None:
    """Write lines into a loop:// port: the link reads them back as if the board sent them."""
    link.port.write("".join(lines).encode())
