"""The wire: tinybench serial protocol v1 and the link that carries it.

``protocol`` holds the messages and parses a line, ``checksum`` the ``*HH`` checksum,
``commands`` the host's commands, ``formatting`` the device's lines, ``batch`` the full-speed
batch parser (a run of sample lines as one ``SampleBlock``) and ``streams`` the line splitter
and sequence tracker. ``ports`` finds boards, ``link`` opens any port by pyserial URL and reads
it in chunks on one thread, counting every lost sample and dropped line, and ``observers`` is
the one ``subscribe``/``unsubscribe`` API. Nothing here imports TensorFlow.
"""

from tinybench.wire.batch import SampleBlock, parse_block, parse_lines
from tinybench.wire.checksum import checksum, with_checksum
from tinybench.wire.commands import COMMANDS, Command, format_command, parse_command
from tinybench.wire.formatting import (
    format_error,
    format_hello,
    format_output,
    format_prediction,
    format_sample,
    format_samples,
)
from tinybench.wire.link import Link, LinkStats, open_link
from tinybench.wire.message_queue import MessageQueue
from tinybench.wire.observers import Observable, Observers, Subscription
from tinybench.wire.ports import (
    VIRTUAL_BOARD_URL,
    FoundBoard,
    choose_port,
    find_boards,
    list_ports_seen,
)
from tinybench.wire.protocol import (
    FLOAT32_MAX,
    MAX_LINE_BYTES,
    PROTOCOL_VERSION,
    SEQ_MODULUS,
    DeviceError,
    Dropped,
    Header,
    Hello,
    Message,
    Prediction,
    RawOutput,
    Sample,
    parse_line,
    value_problem,
)
from tinybench.wire.streams import LineSplitter, SequenceTracker

__all__ = [
    "COMMANDS",
    "FLOAT32_MAX",
    "MAX_LINE_BYTES",
    "PROTOCOL_VERSION",
    "SEQ_MODULUS",
    "VIRTUAL_BOARD_URL",
    "Command",
    "DeviceError",
    "Dropped",
    "FoundBoard",
    "Header",
    "Hello",
    "LineSplitter",
    "Link",
    "LinkStats",
    "Message",
    "MessageQueue",
    "Observable",
    "Observers",
    "Prediction",
    "RawOutput",
    "Sample",
    "SampleBlock",
    "SequenceTracker",
    "Subscription",
    "checksum",
    "choose_port",
    "find_boards",
    "format_command",
    "format_error",
    "format_hello",
    "format_output",
    "format_prediction",
    "format_sample",
    "format_samples",
    "list_ports_seen",
    "open_link",
    "parse_block",
    "parse_command",
    "parse_line",
    "parse_lines",
    "value_problem",
    "with_checksum",
]
