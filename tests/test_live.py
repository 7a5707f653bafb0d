"""LiveSession: exact parsing over loop://, and the whole loop over the virtual board."""

from __future__ import annotations

import threading
import time

import pytest
from loop_port import feed
from model_factories import export_for_virtual_board, tiny_int8_classifier
from waiting import wait_for

from tinybench.errors import ConfigError, PortError, ProtocolError, UnplugError
from tinybench.live import LiveSession, LiveSummary, LiveUpdate
from tinybench.wire import Header, Subscription, format_error, format_prediction, open_link

LABELS = ("idle", "wave", "punch")


# -- loop://: the test plays the board ---------------------------------------------------


def test_predictions_become_updates_with_scores_by_label_and_lost_counts() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        feed(
            link,
            format_prediction(10, 1500, [0.1, 0.7, 0.2]),
            format_prediction(11, 1400, [0.8, 0.1, 0.1]),
            format_prediction(14, 1600, [0.05, 0.05, 0.9]),  # 12 and 13 lost
        )
        wait_for(lambda: session.count == 3)
        first, second, third = session.recent()
        assert isinstance(third, LiveUpdate)
        assert first.scores == {"idle": 0.1, "wave": 0.7, "punch": 0.2}
        assert (first.seq, first.top_label, first.top_score, first.latency_us) == (
            10,
            "wave",
            0.7,
            1500,
        )
        assert second.top_label == "idle"
        assert (first.lost, second.lost, third.lost) == (0, 0, 2)
        assert session.latest == third
        assert third.top_label == "punch" and third.top_score == 0.9
        assert first.received_at <= second.received_at <= third.received_at
        assert session.error is None


def test_history_is_bounded_and_becomes_a_dataframe() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS, history=4) as session:
        feed(link, *(format_prediction(seq, 100 + seq, [0.2, 0.3, 0.5]) for seq in range(10)))
        wait_for(lambda: session.count == 10)
        frame = session.history()
        assert list(frame["seq"]) == [6, 7, 8, 9]
        assert list(frame.columns) == [
            "seq",
            "t_s",
            "latency_us",
            "top_label",
            "top_score",
            "rate_hz",
            "lost",
            *LABELS,
        ]
        assert list(frame["latency_us"]) == [106, 107, 108, 109]
        assert set(frame["top_label"]) == {"punch"}
        assert frame["punch"].tolist() == [0.5] * 4
        assert (frame["t_s"] >= 0).all()
        assert len(session.recent(2)) == 2 and session.recent(0) == []


def test_start_sends_i_and_stop_sends_x() -> None:
    # loop:// echoes what the host writes; a bare command letter parses as a CSV header line.
    with open_link("loop://") as link:
        echoed: list = []
        link.subscribe(lambda batch: echoed.extend(m for m in batch if isinstance(m, Header)))
        session = LiveSession(link, labels=LABELS).start()
        assert session.running
        wait_for(lambda: echoed == [Header(("i",))])
        session.stop()
        wait_for(lambda: echoed == [Header(("i",)), Header(("x",))])
        assert not session.running
        session.stop()  # twice is fine
        assert echoed == [Header(("i",)), Header(("x",))]


def test_stopped_session_ignores_later_predictions() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS).start()
        feed(link, format_prediction(0, 1, [1, 0, 0]))
        wait_for(lambda: session.count == 1)
        session.stop()
        feed(link, format_prediction(1, 1, [1, 0, 0]))
        time.sleep(0.2)
        assert session.count == 1


def test_device_errors_are_kept_and_observers_told() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        told = threading.Event()
        session.subscribe(lambda s: told.set() if s.device_errors else None)
        feed(link, format_error("Invoke failed: arena too small"))
        assert told.wait(3.0)
        assert session.device_errors == ("Invoke failed: arena too small",)
        assert session.error is None
        assert "arena too small" in str(session.summary())


def test_wrong_number_of_scores_sets_a_clear_error() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        feed(link, format_prediction(0, 10, [0.5, 0.5]))
        wait_for(lambda: session.error is not None)
        assert isinstance(session.error, ProtocolError)
        message = str(session.error)
        assert "2 scores" in message and "'punch'" in message and "labels=" in message
        assert session.count == 0


def test_unplug_sets_the_error_tells_observers_and_ends_run_for() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS)
        errors: list = []
        session.subscribe(lambda s: errors.append(s.error) if s.error else None)
        session.start()
        feed(link, format_prediction(0, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: session.count == 1)
        link.port.close()  # the reader's next read fails, as when the cable is pulled
        wait_for(lambda: errors)
        assert isinstance(session.error, UnplugError)
        assert isinstance(errors[0], UnplugError)
        with pytest.raises(UnplugError, match="unplugged"):
            session.run_for(5)
        session.stop()  # does not try to write to the dead port
        assert session.summary().predictions == 1


def test_notifier_calls_observers_only_when_something_is_new() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS, notify_hz=50)
        seen: list = []
        session.subscribe(lambda s: seen.append(s.latest.seq if s.latest else None))
        session.start()
        feed(link, format_prediction(1, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: 1 in seen)
        calls = len(seen)
        time.sleep(0.3)  # 15 ticks with nothing new
        assert len(seen) == calls
        feed(link, format_prediction(2, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: 2 in seen)
        session.stop()
        assert seen[-1] == 2  # told once more on stop


def test_failing_observer_does_not_stop_the_others() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:

        def broken(_: LiveSession) -> None:
            raise ValueError("observer bug")

        seen: list = []
        session.subscribe(broken)
        subscription = session.subscribe(seen.append)
        feed(link, format_prediction(1, 10, [0.2, 0.3, 0.5]))
        feed(link, format_prediction(2, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: session.count == 2 and seen and seen[-1].latest.seq == 2)
        session.unsubscribe(subscription)
        told = len(seen)
        feed(link, format_prediction(3, 10, [0.2, 0.3, 0.5]))
        wait_for(lambda: session.count == 3)
        time.sleep(0.2)  # several notifier ticks
        assert len(seen) == told  # unsubscribed: told no more


def test_unsubscribe_takes_the_subscription_not_the_callback() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS)
        subscription = session.subscribe(print)
        assert isinstance(subscription, Subscription)
        with pytest.raises(TypeError, match="Subscription that subscribe"):
            session.unsubscribe(print)  # type: ignore[arg-type]
        subscription.close()
        subscription.close()  # twice is harmless


def test_a_board_that_does_not_answer_hello_is_refused_when_labels_are_unknown() -> None:
    with open_link("loop://") as link, pytest.raises(PortError, match="No Hello"):
        LiveSession(link).start()  # loop:// never answers '?'


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"history": 0}, "history"), ({"notify_hz": 0}, "notify_hz"), ({"labels": []}, "labels")],
)
def test_bad_arguments_are_refused(kwargs, match) -> None:
    with open_link("loop://") as link, pytest.raises(ConfigError, match=match):
        LiveSession(link, **kwargs)


def test_summary_counts_tops_and_mean_latency() -> None:
    with open_link("loop://") as link, LiveSession(link, labels=LABELS) as session:
        feed(
            link,
            format_prediction(0, 1000, [0.9, 0.05, 0.05]),
            format_prediction(1, 3000, [0.1, 0.8, 0.1]),
            format_prediction(2, 2000, [0.1, 0.7, 0.2]),
        )
        wait_for(lambda: session.count == 3)
        summary = session.summary()
    assert isinstance(summary, LiveSummary)
    assert summary.top_counts == {"idle": 1, "wave": 2, "punch": 0}
    assert summary.mean_latency_us == pytest.approx(2000)
    assert summary.predictions == 3 and summary.lost == 0 and not summary.virtual
    assert "3 predictions" in str(summary) and "wave 2" in str(summary)


# -- the virtual board running a tiny exported model through TFLM ------------------------

WINDOW = 32  # the virtual board predicts every WINDOW // 4 samples: about 15 per second


@pytest.fixture(scope="module")
def tiny_export(tmp_path_factory) -> str:
    """A tiny int8 model (flatten + dense, untrained) exported for the virtual board."""
    out = tmp_path_factory.mktemp("export") / "tiny"
    export_for_virtual_board(tiny_int8_classifier(len(LABELS), WINDOW), out, LABELS, WINDOW)
    return str(out)


def test_virtual_board_streams_predictions_labelled_by_its_hello(tiny_export) -> None:
    with (
        open_link(f"sim://nano33ble?seed=1&model={tiny_export}") as link,
        LiveSession(link, history=5) as session,
    ):
        assert session.labels == LABELS  # asked with '?'
        wait_for(lambda: session.count >= 8)
        kept = session.recent()
        assert len(kept) == 5  # bounded
        assert [u.seq for u in kept] == list(range(kept[0].seq, kept[0].seq + 5))
        for update in kept:
            assert tuple(update.scores) == LABELS
            assert sum(update.scores.values()) == pytest.approx(1.0, abs=0.02)  # softmax
            assert update.top_label == max(update.scores, key=update.scores.get)
            assert update.latency_us >= 0 and update.lost == 0
        summary = session.run_for(1.0)
    assert summary.virtual and summary.lost == 0 and summary.error is None
    assert "virtual board" in str(summary) and "not a microcontroller" in str(summary)
    assert 5 < summary.rate_hz < 40  # nominally 119 Hz / 8 samples per hop = 14.9 per second
    assert sum(summary.top_counts.values()) == summary.predictions


def test_stop_switches_the_virtual_board_out_of_inference(tiny_export) -> None:
    with open_link(f"sim://nano33ble?seed=1&speed=4&model={tiny_export}") as link:
        board = link.port.board
        session = LiveSession(link).start()
        wait_for(lambda: session.count >= 2)
        assert board.mode == "i"
        session.stop()
        wait_for(lambda: board.mode is None)
        count = session.count
        time.sleep(0.3)
        assert session.count == count


def test_unplugging_the_virtual_board_sets_the_error(tiny_export) -> None:
    url = f"sim://nano33ble?seed=1&speed=8&unplug_after=400&model={tiny_export}"
    with open_link(url) as link:
        session = LiveSession(link)
        told: list = []
        session.subscribe(lambda s: told.append(s.error) if s.error else None)
        with pytest.raises(UnplugError, match="unplugged"):
            session.run_for(30)  # ends as soon as the board goes away
        assert told and isinstance(told[0], UnplugError)
        assert session.count == (400 - WINDOW) // 8 + 1  # every prediction before the unplug


def test_a_restarted_session_starts_a_fresh_count() -> None:
    with open_link("loop://") as link:
        session = LiveSession(link, labels=LABELS).start()
        feed(link, format_prediction(0, 1, [1, 0, 0]), format_prediction(3, 1, [1, 0, 0]))
        wait_for(lambda: session.count == 2)
        assert session.latest.lost == 2
        session.stop()
        session.start()
        assert session.count == 0 and session.latest is None and session.history().empty
        feed(link, format_prediction(9, 1, [0, 1, 0]))
        wait_for(lambda: session.count == 1)
        assert session.latest.lost == 0 and session.summary().top_counts["wave"] == 1
        session.stop()
