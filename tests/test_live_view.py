"""LiveView: driven without a browser by a LiveSession over loop:// (the test plays the board)."""

from __future__ import annotations

import time

import ipywidgets as widgets
from loop_port import feed
from waiting import wait_for

from tinybench.live.session import LiveSession
from tinybench.widgets import LiveView
from tinybench.wire import format_error, format_prediction
from tinybench.wire.link import open_link

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
    from tinybench.wire import Hello, format_hello

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


def _virtual_hello(**extra: str) -> str:
    from tinybench.wire import Hello, format_hello

    return format_hello(Hello(board="nano33ble", labels=LABELS, virtual=True, extra=extra))


def test_virtual_board_gets_a_gesture_selector_that_sends_g() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        assert view.gesture is None  # no hello yet: nothing says the board is virtual
        sent = []
        link.send = lambda kind, payload=b"": sent.append((kind, payload))
        feed(link, _virtual_hello(gestures="idle,wave,punch,flex,circle"))
        feed(link, format_prediction(0, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: view.gesture is not None)
        assert view.gesture.options == ("idle", "wave", "punch", "flex", "circle")
        assert view.gesture.value is None and view.gesture in view.widget.children
        view.gesture.value = "wave"
        view.gesture.value = "punch"
        assert sent == [("g", b"wave"), ("g", b"punch")]
        view.close()


def test_a_real_board_gets_no_gesture_selector() -> None:
    from tinybench.wire import Hello, format_hello

    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        feed(link, format_hello(Hello(board="nano33ble", labels=LABELS)))
        feed(link, format_prediction(0, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 0" in view.stats.value)
        assert view.gesture is None
        # A virtual board that cannot perform gestures (no GestureSynth) gets none either.
        feed(link, _virtual_hello())
        feed(link, format_prediction(1, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 1" in view.stats.value)
        assert view.gesture is None
        view.close()


def test_watch_and_stop_buttons_drive_the_session_without_blocking() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS)
        view = LiveView(session)
        assert not view.start_button.disabled and view.stop_button.disabled
        view.start_button.click()
        assert session.running and view.start_button.disabled and not view.stop_button.disabled
        feed(link, format_prediction(0, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 0" in view.stats.value)
        view.stop_button.click()
        assert not session.running and not view.start_button.disabled
        assert "stopped" in view.status.value
        view.close()


def test_buttons_on_a_link_a_later_cell_closed_say_what_to_do() -> None:
    import html

    from tinybench.widgets.live_view import CLOSED_LINK_MESSAGE

    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS)
        view = LiveView(session)
        link.close()
        view.start_button.click()
        assert not session.running
        assert CLOSED_LINK_MESSAGE in html.unescape(view.status.value)
        view.close()


def test_stats_line_does_not_wrap_and_names_the_prediction() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        view = LiveView(session)
        feed(link, format_prediction(42, 1500, [0.2, 0.3, 0.5]))
        wait_for(lambda: "seq 42" in view.stats.value)
        assert "white-space:nowrap" in view.stats.value and 'data-seq="42"' in view.stats.value
        assert 'class="tb-live-top"' in view.top.value
        view.close()
