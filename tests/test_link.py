"""The link: opening ports by URL, the chunked reader, counters, requests and unplugs."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import pytest
import serial
from waiting import wait_for

from tinybench.errors import PortError, ProtocolError, UnplugError
from tinybench.wire import (
    VIRTUAL_BOARD_URL,
    Hello,
    Link,
    MessageQueue,
    Sample,
    SampleBlock,
    Subscription,
    choose_port,
    find_boards,
    format_hello,
    format_sample,
    list_ports_seen,
    open_link,
)


def test_open_link_names_the_bad_port_and_suggests_the_virtual_board() -> None:
    with pytest.raises(PortError) as info:
        open_link("/dev/tinybench-no-such-port")
    message = str(info.value)
    assert "/dev/tinybench-no-such-port" in message
    assert "Ports seen:" in message
    assert VIRTUAL_BOARD_URL in message


@pytest.mark.parametrize("url", ["", None])
def test_open_link_refuses_empty(url) -> None:
    with pytest.raises(PortError, match="Not a port"):
        open_link(url)


def test_reader_parses_counts_and_tracks_loss_over_loop_url() -> None:
    with open_link("loop://") as link:
        batches: list = []
        link.subscribe(batches.extend)
        stream = "".join(
            [
                format_hello(Hello(board="nano33ble", fields=("ax", "ay"))),
                format_sample(0, 0, [1, 2]),
                format_sample(1, 8403, [1, 2]),
                format_sample(4, 33613, [1, 2]),  # 2 lost
                "s,5,42016,1,2*00\n",  # bad checksum
                "complete garbage ~~~\n",
                format_sample(5, 42016, [1, 2]),
            ]
        )
        link.port.write(stream.encode())
        wait_for(lambda: link.stats.samples == 4, timeout=3.0)
        assert link.stats.lost_samples == 2
        assert link.stats.dropped == {"checksum": 1, "unparseable": 1}
        assert link.hello is not None and link.hello.board == "nano33ble"
        assert [m.seq for m in batches if isinstance(m, Sample)] == [0, 1, 4, 5]


def test_reader_handles_lines_split_across_chunks() -> None:
    with open_link("loop://") as link, MessageQueue(link) as sub:
        line = format_sample(7, 1, [0.5, 0.25]).encode()
        link.port.write(line[:5])
        time.sleep(0.1)
        link.port.write(line[5:])
        messages: list = []
        deadline = time.monotonic() + 2
        while not messages and time.monotonic() < deadline:
            messages += sub.get(timeout=0.1)
        assert messages == [Sample(7, 1, (0.5, 0.25))]


def test_request_times_out_with_a_clear_error() -> None:
    # loop:// echoes the "?" command back, which is not a hello.
    with open_link("loop://") as link, pytest.raises(PortError, match=r"No Hello .* within 0.2 s"):
        link.request_hello(timeout=0.2)


def test_send_refuses_unknown_commands() -> None:
    with open_link("loop://") as link, pytest.raises(ProtocolError):
        link.send("reboot")


class UnpluggingPort:
    """A port that returns a few lines and then fails like an unplugged USB device."""

    is_open = True
    portstr = "fake://unplug"
    port = "fake://unplug"

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = list(chunks)
        self.written: list[bytes] = []
        self.plugged_in = threading.Event()

    @property
    def in_waiting(self) -> int:
        return len(self.chunks[0]) if self.chunks else 0

    def read(self, size: int = 1) -> bytes:
        if not self.plugged_in.wait(timeout=0.05):
            return b""
        if self.chunks:
            return self.chunks.pop(0)
        raise serial.SerialException(
            "device reports readiness to read but returned no data "
            "(device disconnected or multiple access on port?)"
        )

    def write(self, data: bytes) -> int:
        self.written.append(data)
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.is_open = False


def test_unplug_keeps_what_arrived_and_raises_to_consumers() -> None:
    lines = [format_sample(i, i * 8403, [i, i]).encode() for i in range(3)]
    port = UnpluggingPort(lines)
    link = Link(port)
    received: list = []
    errors: list = []
    link.subscribe(received.extend, errors.append)
    port.plugged_in.set()
    wait_for(lambda: link.error is not None, timeout=3.0)
    assert isinstance(link.error, UnplugError)
    assert "unplugged" in str(link.error) and "fake://unplug" in str(link.error)
    assert [m.seq for m in received] == [0, 1, 2]
    assert errors == [link.error]
    sub = MessageQueue(link)
    with pytest.raises(UnplugError):
        sub.get(timeout=0.1)
    with pytest.raises(UnplugError):
        link.send("c")
    assert not link.alive
    link.close()


def fake_port(device: str, vid: int | None, pid: int | None, description: str = "") -> object:
    return SimpleNamespace(
        device=device, vid=vid, pid=pid, description=description, serial_number="123"
    )


def test_find_boards_recognises_arduino_ids() -> None:
    ports = [
        fake_port("/dev/ttyS0", None, None, "ttyS0"),
        fake_port("/dev/ttyACM0", 0x2341, 0x805A, "Nano 33 BLE"),
        fake_port("/dev/ttyUSB0", 0x0403, 0x6001, "FT232R"),
        fake_port("/dev/ttyACM1", 0x2341, 0x0043, "Arduino Uno"),
    ]
    found = find_boards(ports)
    assert [(f.port, f.board.name) for f in found] == [
        ("/dev/ttyACM0", "nano33ble"),
        ("/dev/ttyACM1", "uno"),
    ]
    assert len(list_ports_seen(ports)) == 4


def test_choose_port_prefers_a_board_then_falls_back() -> None:
    board = [fake_port("/dev/ttyACM3", 0x2341, 0x805A)]
    none = [fake_port("/dev/ttyS0", None, None, "ttyS0")]
    assert choose_port(ports=board) == "/dev/ttyACM3"
    assert choose_port(ports=none) == VIRTUAL_BOARD_URL
    with pytest.raises(PortError) as info:
        choose_port(fallback=None, ports=none)
    assert "/dev/ttyS0 (ttyS0)" in str(info.value)
    assert VIRTUAL_BOARD_URL in str(info.value)


def read_all(chunks: list[bytes]) -> tuple[Link, list]:
    """Run a link over ``chunks`` (one per read) until the fake port unplugs."""
    port = UnpluggingPort(chunks)
    link = Link(port)
    received: list = []
    link.subscribe(received.extend)
    port.plugged_in.set()
    wait_for(lambda: link.error is not None, timeout=5.0)
    link.close()
    return link, received


@pytest.mark.parametrize("size", [160_000, 1_000_000])
def test_an_over_long_first_line_is_one_drop_and_later_lines_keep_their_width(size: int) -> None:
    runaway = (b"0.25," * (size // 5 + 1))[:size] + b"\n"
    good = "".join(format_sample(i, i * 8403, [1, 2, 3]) for i in range(30)).encode()
    stream = runaway + good
    link, received = read_all([stream[i : i + 4096] for i in range(0, len(stream), 4096)])
    assert link.stats.dropped == {"too-long": 1}
    samples = [m for m in received if isinstance(m, Sample)]
    assert [m.seq for m in samples] == list(range(30))
    assert {len(m.values) for m in samples} == {3}


def test_a_late_hello_mid_stream_reaches_subscribers_in_order() -> None:
    first = Hello(board="unknown", fields=("v0", "v1"))
    late = Hello(board="uno", rate_hz=100, fields=("ax", "ay"))
    lines = [
        format_sample(0, 0, [1, 2]),
        format_hello(first),
        format_sample(1, 10_000, [1, 2]),
        format_hello(late),  # the board reset and booted again
        format_sample(0, 1_500_000, [1, 2]),
    ]
    link, received = read_all([line.encode() for line in lines])
    assert [type(m).__name__ for m in received] == ["Sample", "Hello", "Sample", "Hello", "Sample"]
    assert received[3] == late
    assert link.hello == late
    assert link.stats.restarts == 1 and link.stats.lost_samples == 0


def test_subscribe_returns_a_subscription_that_unsubscribes() -> None:
    with open_link("loop://") as link:
        calls: list[str] = []
        first = link.subscribe(lambda batch: calls.append("first"))
        second = link.subscribe(lambda batch: calls.append("second"))
        assert isinstance(first, Subscription) and isinstance(second, Subscription)
        link.port.write(format_sample(0, 0, [1]).encode())
        wait_for(lambda: len(calls) == 2, timeout=2.0)
        assert calls == ["first", "second"]  # in the order they subscribed
        link.unsubscribe(first)
        link.unsubscribe(first)  # twice is harmless
        with second:  # a with block closes it
            link.port.write(format_sample(1, 8403, [1]).encode())
            wait_for(lambda: len(calls) == 3, timeout=2.0)
        link.port.write(format_sample(2, 16806, [1]).encode())
        wait_for(lambda: link.stats.samples == 3, timeout=2.0)
        assert calls == ["first", "second", "second"]


def test_unsubscribe_refuses_a_callback_instead_of_its_subscription() -> None:
    with open_link("loop://") as link:
        on_batch = print
        link.subscribe(on_batch)
        with pytest.raises(TypeError, match="Subscription that subscribe"):
            link.unsubscribe(on_batch)  # type: ignore[arg-type]


def test_a_long_command_gets_time_to_cross_the_wire_and_short_ones_the_base_timeout() -> None:
    from tinybench.wire.link import open_link

    with open_link("sim://nano33ble?seed=1") as link:
        base = link.port.write_timeout
        link.send("v", bytes(55_000))  # a VWW input: 4.8 s on a 115200-baud UART
        assert link.port.write_timeout >= 2 * 55_000 * 2 * 10 / 115_200
        link.send("?")
        assert link.port.write_timeout == base


def test_block_subscribers_get_sample_blocks_and_the_others_samples() -> None:
    with open_link("loop://") as link:
        blocks: list = []
        samples: list = []
        link.subscribe(blocks.extend, blocks=True)
        link.subscribe(samples.extend)
        lines = [format_sample(i, i * 8403, [i / 8, -1.5]) for i in range(500)]
        link.port.write("".join(lines).encode())
        wait_for(lambda: len(samples) == 500, timeout=3.0)
        assert samples == [Sample(i, i * 8403, (i / 8, -1.5)) for i in range(500)]
        assert all(isinstance(block, SampleBlock) for block in blocks)
        assert b"".join(block.rows for block in blocks).decode() == "".join(
            line[2:-4] + "\n" for line in lines
        )
        assert (link.stats.samples, link.stats.messages, link.stats.lost_samples) == (500, 500, 0)


def test_an_unplug_while_gathering_a_fast_batch_keeps_what_was_read() -> None:
    # a full 4 KiB read makes the reader read on for a bigger batch; that read fails
    block = "".join(format_sample(i, i * 8403, [i, i]) for i in range(200)).encode()
    port = UnpluggingPort([block])
    port.timeout = 0.05
    link = Link(port)
    received: list = []
    link.subscribe(received.extend)
    port.plugged_in.set()
    wait_for(lambda: link.error is not None, timeout=3.0)
    assert len(block) >= 4096 and [m.seq for m in received] == list(range(200))
    link.close()
