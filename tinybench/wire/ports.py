"""Finding boards: the serial ports the operating system lists, and which board is on each.

A port is recognised by its USB VID/PID (:func:`tinybench.boards.board_for_usb_id`).
Pseudo-terminals (``tinybench simulate``) are never listed; they are opened by path.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from serial.tools import list_ports

from tinybench.boards import Board, board_for_usb_id
from tinybench.errors import PortError

__all__ = ["VIRTUAL_BOARD_URL", "FoundBoard", "choose_port", "find_boards", "list_ports_seen"]

log = logging.getLogger(__name__)

VIRTUAL_BOARD_URL = "sim://nano33ble?seed=1"


@dataclass(frozen=True)
class FoundBoard:
    """A serial port and the board tinybench recognised on it.

    Attributes:
        port: Device path, for example ``/dev/ttyACM0``.
        board: The board profile matched from the USB VID/PID, or ``None``.
        description: What the operating system calls the port.
        vid: USB vendor id, if the port is USB.
        pid: USB product id, if the port is USB.
        serial_number: USB serial number, if any.
    """

    port: str
    board: Board | None
    description: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None


def list_ports_seen(ports: Iterable | None = None) -> list[FoundBoard]:
    """Return every serial port the operating system lists, recognised or not.

    Args:
        ports: Port infos to use instead of ``list_ports.comports()`` (for tests).
    """
    infos = list_ports.comports() if ports is None else ports
    return [
        FoundBoard(
            port=info.device,
            board=board_for_usb_id(info.vid, info.pid),
            description=info.description or "",
            vid=info.vid,
            pid=info.pid,
            serial_number=info.serial_number,
        )
        for info in infos
    ]


def find_boards(ports: Iterable | None = None) -> list[FoundBoard]:
    """Return the ports whose USB VID/PID belongs to a known Arduino-family board.

    Pseudo-terminals, such as the one ``tinybench simulate`` prints, are never listed by the
    operating system: pass their path to :func:`open_link` directly.
    """
    return [found for found in list_ports_seen(ports) if found.board is not None]


def choose_port(fallback: str | None = VIRTUAL_BOARD_URL, ports: Iterable | None = None) -> str:
    """Return the port of the first board found, or ``fallback`` when there is none.

    Raises:
        PortError: No board was found and there is no fallback; the message lists the ports
            that were seen and suggests the virtual board.
    """
    seen = list_ports_seen(ports)
    boards = [found for found in seen if found.board is not None]
    if boards:
        return boards[0].port
    if fallback is not None:
        log.info("no board found; using %s", fallback)
        return fallback
    listing = ", ".join(f"{f.port} ({f.description})" for f in seen) or "none"
    raise PortError(
        f"No Arduino-family board found. Ports seen: {listing}. Plug the board in with a data "
        f"(not charge-only) USB cable, or use the virtual board: {VIRTUAL_BOARD_URL}"
    )
