"""LiveView: driven without a browser by a LiveSession over loop:// (the test plays the board)."""

from __future__ import annotations

import time

import ipywidgets as widgets
from loop_port import feed
from waiting import wait_for

from tinybench.link import open_link
from tinybench.live import LiveSession
from tinybench.protocol import format_error, format_prediction
from tinybench.widgets import LiveView

LABELS = ("idle", "wave", "punch")


def test_view_shows_a_bar_per_label_and_the_latest_prediction() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session, strip=5)
        assert [bar.description for bar in view.bars] == list(LABELS)
        feed(link, format_prediction(7, 2345, [0.125, 0.625, 0.25]))
        wait_for(lambda: view.bars[1].value == 0.625)
        assert [bar.value for bar in view.bars] == [0.125, 0.625, 0.25]
        assert [p.value.strip() for p in view.percents] == ["12.5 %", "62.5 %", "25.0 %"]
        assert ">wave</div>" in view.top.value and "0.62" in view.top.value
        assert "2.35 ms" in view.stats.value and "seq 7" in view.stats.value
        assert "running on loop://" in view.status.value
        view.close()


def test_history_strip_shows_the_last_top_labels_in_order() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session, strip=3)
        tops = ["idle", "wave", "punch", "wave", "idle"]
        feed(
            link,
            *(
                format_prediction(seq, 10, [0.8 if label == top else 0.1 for label in LABELS])
                for seq, top in enumerate(tops)
            ),
        )
        wait_for(lambda: "seq 4" in view.stats.value)
        cells = [part.split(" ")[0] for part in view.strip.value.split('title="')[1:]]
        assert cells == ["punch", "wave", "idle"]
        view.close()


def test_view_is_refreshed_by_the_session_notifier_not_by_the_caller() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS, notify_hz=50)
        view = LiveView(session)
        before = view.renders
        session.start()
        for seq in range(5):
            feed(link, format_prediction(seq, 10, [0.2, 0.3, 0.5]))
            wait_for(lambda seq=seq: f"seq {seq}" in view.stats.value)
        assert view.renders >= before + 5  # one render per new prediction at this pace
        renders = view.renders
        time.sleep(0.2)  # 10 ticks with nothing new: no redraw
        assert view.renders == renders
        session.stop()
        assert "stopped" in view.status.value
        view.close()


def test_labels_arriving_later_build_the_bars() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS)
        session.labels = ()  # as before the board's hello was read
        view = LiveView(session)
        assert view.bars == []
        assert "not started" in view.status.value
        session.labels = ("left", "right")
        view.refresh()
        assert [bar.description for bar in view.bars] == ["left", "right"]
        view.close()


def test_errors_and_device_messages_are_shown() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        feed(link, format_error("Invoke failed"), format_prediction(0, 1, [0.5, 0.5]))
        wait_for(lambda: "2 scores" in view.status.value)
        assert "board says: Invoke failed" in view.status.value
        view.close()


def test_view_displays_as_an_ipywidget_and_stops_observing_when_closed() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        assert isinstance(view.widget, widgets.VBox)
        bundle = view._repr_mimebundle_()
        assert "application/vnd.jupyter.widget-view+json" in bundle
        view.close()
        renders = view.renders
        feed(link, format_prediction(0, 1, [0.2, 0.3, 0.5]))
        wait_for(lambda: session.count == 1)
        time.sleep(0.15)
        assert view.renders == renders


def test_latency_from_the_virtual_board_is_not_passed_off_as_on_device() -> None:
    from tinybench.protocol import Hello, format_hello

    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        feed(link, format_prediction(0, 1500, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 0" in view.stats.value)
        assert "on-device latency <b>1.50 ms</b>" in view.stats.value
        feed(link, format_hello(Hello(board="nano33ble", labels=LABELS, virtual=True)))
        feed(link, format_prediction(1, 1500, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 1" in view.stats.value)
        assert "Invoke time (host TFLM, virtual board)" in view.stats.value
        assert "on-device" not in view.stats.value
        view.close()
