"""CapturePanel driven without a browser: set widget values and click buttons, as ipywidgets'
own tests do, against a streaming board on loop://."""

from __future__ import annotations

import html
import threading

import numpy as np
import pytest
import serial
from waiting import wait_for

import tinybench.widgets
from tinybench.capture.recorder import Recorder
from tinybench.widgets import CapturePanel
from tinybench.widgets.capture_panel import CLOSED_LINK_MESSAGE
from tinybench.wire import Hello, format_hello, format_sample
from tinybench.wire.link import open_link

HELLO = Hello(board="nano33ble", sensor="imu", rate_hz=200, fields=("ax", "ay", "gz"))


class StreamingBoard:
    """Answers ``?`` and streams a sample every 5 ms between ``c`` and ``x``, over loop://."""

    def __init__(self, link) -> None:
        self.link = link
        self.seq = 0
        self._streaming = threading.Event()
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        link.send = self.send

    def send(self, kind: str, payload: bytes = b"") -> None:
        if self.link.error is not None:
            raise self.link.error
        if kind == "?":
            self.link.port.write(format_hello(HELLO).encode())
        elif kind == "c":
            self._streaming.set()
        elif kind == "x":
            self._streaming.clear()

    def _run(self) -> None:
        while not self._closed.wait(0.005):
            if self._streaming.is_set() and self.link.error is None:
                seq = self.seq
                line = format_sample(seq, seq * 5000, [seq % 50 / 10, -1.0, 3.0 * (seq % 7)])
                self.link.port.write(line.encode())
                self.seq += 1

    def close(self) -> None:
        self._closed.set()
        self._thread.join()


@pytest.fixture
def panel(tmp_path):
    with open_link("loop://") as link:
        board = StreamingBoard(link)
        recorder = Recorder(link, "gestures", tmp_path)
        panel = CapturePanel(recorder, labels=["idle", "wave"], seconds=0.5)
        yield panel
        panel.close()
        board.close()


def test_initial_state_and_display(panel) -> None:
    assert panel.label.options == ("idle", "wave") and panel.label.value == "idle"
    assert not panel.start_button.disabled and panel.stop_button.disabled
    assert "No sessions recorded yet" in panel.session_list.value
    assert "samples 0" in panel.counters.value
    bundle = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert str(panel.recorder.folder) in panel.widget.children[0].value


def test_new_labels_are_validated_and_errors_shown_in_the_panel(panel) -> None:
    panel.new_label.value = "../escape"
    panel.add_label.click()
    assert "Invalid label" in panel.status.value and "&#x27;../escape&#x27;" in panel.status.value
    assert panel.label.options == ("idle", "wave")
    panel.new_label.value = "jump"
    panel.add_label.click()
    assert panel.label.options == ("idle", "wave", "jump") and panel.label.value == "jump"
    assert panel.new_label.value == "" and "added" in panel.status.value


def test_start_records_for_the_slider_seconds_and_lists_the_session(panel, tmp_path) -> None:
    panel.label.value = "wave"
    panel.seconds.value = 0.5
    panel.start_button.click()
    assert panel.start_button.disabled and not panel.stop_button.disabled
    assert "Recording" in panel.status.value
    wait_for(lambda: not panel.recorder.is_recording and not panel.start_button.disabled)
    session = panel.recorder.last_session
    assert session is not None and session.path.is_file()
    assert session.path.parent == tmp_path / "gestures" / "wave"
    assert session.samples == 100  # 0.5 s on the board's clock at 200 Hz
    assert "Saved" in panel.status.value and "wave-0001" in panel.session_list.value
    assert f"samples {session.samples}" in panel.counters.value
    assert panel.plot.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert panel.stop_button.disabled


def test_stop_button_ends_the_session_early(panel) -> None:
    panel.seconds.value = 30.0
    panel.start_button.click()
    wait_for(lambda: panel.recorder.samples >= 20)
    wait_for(lambda: panel.plot.value[:4] == b"\x89PNG")  # the live plot draws while recording
    panel.stop_button.click()
    assert not panel.recorder.is_recording
    assert not panel.start_button.disabled and panel.stop_button.disabled
    session = panel.recorder.sessions[-1]
    assert session.meta["ended"] == "stopped" and session.samples >= 20
    assert "Saved" in panel.status.value and "idle-0001" in panel.session_list.value


def test_an_unplug_is_shown_with_what_was_kept(panel) -> None:
    panel.seconds.value = 30.0
    panel.start_button.click()
    wait_for(lambda: panel.recorder.samples >= 10)

    def read(_size: int = 1) -> bytes:
        raise serial.SerialException("device reports readiness to read but returned no data")

    panel.recorder.link.port.read = read
    wait_for(lambda: not panel.start_button.disabled)
    assert "ended early" in panel.status.value and "were kept in" in panel.status.value
    assert "unplugged" in panel.session_list.value
    panel.start_button.click()  # the link is gone: a clear error, not a crash
    assert "Cannot record" in panel.status.value and not panel.start_button.disabled


def test_widgets_package_exports_lazily() -> None:
    assert "CapturePanel" in tinybench.widgets.__all__
    assert tinybench.widgets.CapturePanel is CapturePanel
    with pytest.raises(AttributeError, match="NoSuchWidget"):
        _ = tinybench.widgets.NoSuchWidget


def test_panel_records_from_the_virtual_board(tmp_path) -> None:
    with open_link("sim://nano33ble?seed=2&speed=0") as link:
        panel = CapturePanel(Recorder(link, "gestures", tmp_path), seconds=1.0)
        panel.label.value = "punch"
        panel.start_button.click()
        wait_for(lambda: not panel.start_button.disabled)
        panel.close()
    session = panel.recorder.last_session
    assert session is not None and session.label == "punch" and session.meta["virtual"]
    assert session.samples == 119  # one second of the board's signal, at full speed
    assert "punch-0001" in panel.session_list.value and "rate 119.0 Hz" in panel.counters.value
    assert panel.plot.value[:4] == b"\x89PNG"


def test_placeholder_stands_in_for_the_plot_until_the_first_frame(panel) -> None:
    # An Image without a frame shows a broken-image icon: it stays hidden until there is one.
    assert panel.plot.layout.display == "none" and panel.plot.value == b""
    assert "appears here" in panel.placeholder.value and panel.placeholder.layout.display is None
    panel.seconds.value = 0.5
    panel.start_button.click()
    wait_for(lambda: not panel.recorder.is_recording and not panel.start_button.disabled)
    assert panel.plot.value[:4] == b"\x89PNG" and panel.plot.layout.display is None
    assert panel.placeholder.layout.display == "none"


def test_start_on_a_link_a_later_cell_closed_says_what_to_do(panel) -> None:
    panel.recorder.link.close()
    panel.start_button.click()
    assert CLOSED_LINK_MESSAGE in html.unescape(panel.status.value)
    assert "re-run the cell that opens it" in panel.status.value
    assert not panel.start_button.disabled and not panel.recorder.is_recording


def test_an_invalid_new_label_is_highlighted_with_the_reason_as_it_is_typed(panel) -> None:
    panel.new_label.value = "a/b"
    assert panel.add_label.disabled
    assert "path separator" in panel.label_hint.value and panel.new_label.style.background
    panel.new_label.value = "jump"
    assert not panel.add_label.disabled and panel.label_hint.value == ""
    assert panel.new_label.style.background is None
    panel.new_label.value = ""
    assert not panel.add_label.disabled and panel.label_hint.value == ""


def test_plot_puts_each_unit_on_its_own_axes_with_the_legend_beside_it(panel) -> None:
    values = np.column_stack(
        [np.sin(np.arange(100) / 5 + k) * (1 + 200 * (k > 2)) for k in range(6)]
    )
    fields = ("ax", "ay", "az", "gx", "gy", "gz")
    png = panel._render(values, fields, ("g", "g", "g", "dps", "dps", "dps"))
    assert png[:4] == b"\x89PNG"
    axes = panel._figure.axes
    assert [ax.get_ylabel() for ax in axes] == ["acceleration (g)", "angular rate (dps)"]
    assert [[t.get_text() for t in ax.get_legend().get_texts()] for ax in axes] == [
        ["ax", "ay", "az"],
        ["gx", "gy", "gz"],
    ]
    renderer = panel._figure.canvas.get_renderer()
    for ax in axes:  # each legend sits right of its axes, never over the data
        assert ax.get_legend().get_window_extent(renderer).x0 >= ax.get_window_extent().x1
        low, high = ax.get_ylim()
        lines = ax.get_lines()
        assert all(
            low <= line.get_ydata().min() and line.get_ydata().max() <= high for line in lines
        )
    # Without units, one axes of values.
    panel._render(values[:, :3], fields[:3], ())
    assert [ax.get_ylabel() for ax in panel._figure.axes] == ["value"]


def test_virtual_board_units_label_the_plot(tmp_path) -> None:
    with open_link("sim://nano33ble?seed=2&speed=0") as link:
        panel = CapturePanel(Recorder(link, "gestures", tmp_path), seconds=0.5)
        panel.start_button.click()
        wait_for(lambda: not panel.start_button.disabled)
        panel.close()
    labels = [ax.get_ylabel() for ax in panel._figure.axes]
    assert labels == ["acceleration (g)", "angular rate (dps)"]
