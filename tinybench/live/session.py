"""Live inference: predictions streaming from a board (real or virtual) into a session.

A :class:`LiveSession` is handed an open :class:`~tinybench.wire.link.Link`.
:meth:`LiveSession.start`
asks the board for its labels (``?``), switches it to inference mode (``i``) and subscribes to
the link. Prediction lines are turned into :class:`LiveUpdate` objects on the link's reader
thread, the one background thread that reads the port, so nothing polls. The session keeps a
bounded history and runs a throttled notifier thread that tells observers, such as
:class:`tinybench.widgets.LiveView`, at most ``notify_hz`` times a second and only when
something changed. The same objects come back from the virtual board and from a real board.

Example::

    with open_link("sim://nano33ble?seed=1&model=build/export/gesture") as link:
        with LiveSession(link) as session:
            summary = session.run_for(5)
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable

import pandas as pd

from tinybench.errors import ConfigError, ProtocolError, TinybenchError, UnplugError
from tinybench.live.updates import LiveSummary, LiveUpdate
from tinybench.wire.link import Link
from tinybench.wire.observers import Observers, Subscription
from tinybench.wire.protocol import DeviceError, Message, Prediction
from tinybench.wire.streams import SequenceTracker

__all__ = ["LiveSession", "Observer"]

log = logging.getLogger(__name__)

Observer = Callable[["LiveSession"], None]
"""An observer is called with the session; it reads ``latest``, ``recent()`` and ``error``."""

_RATE_WINDOW_S = 1.0
_KEPT_DEVICE_ERRORS = 20


class LiveSession:
    """Predictions from a board in inference mode, with a bounded history and observers.

    Args:
        link: An open link to a board running a tinybench inference sketch (or the virtual
            board with a model). The session does not close it.
        history: How many recent predictions to keep.
        labels: Label names in score order. ``None`` asks the board's hello for them.
        notify_hz: How often, at most, observers are told about new predictions.

    Attributes:
        link: The link the session reads.
        labels: Label names in score order, known after :meth:`start`.
        error: Why the session cannot go on (the board was unplugged, or it sends a number of
            scores that does not match the labels), or ``None``.
        device_errors: The last ``!`` lines the board sent, oldest first.

    Raises:
        ConfigError: ``history`` or ``notify_hz`` is not positive, or ``labels`` is empty.
    """

    def __init__(
        self,
        link: Link,
        *,
        history: int = 200,
        labels: list[str] | tuple[str, ...] | None = None,
        notify_hz: float = 20.0,
    ) -> None:
        if history < 1:
            raise ConfigError(f"history must be at least 1 prediction, got {history!r}")
        if notify_hz <= 0:
            raise ConfigError(f"notify_hz must be positive, got {notify_hz!r}; the default is 20")
        if labels is not None and not labels:
            raise ConfigError("labels is empty; pass the model's labels or None to ask the board")
        self.link = link
        self.labels: tuple[str, ...] = tuple(labels) if labels is not None else ()
        self.error: TinybenchError | None = None
        self.device_errors: tuple[str, ...] = ()
        self._given_labels = labels is not None
        self._history: collections.deque[LiveUpdate] = collections.deque(maxlen=history)
        self._times: collections.deque[float] = collections.deque()
        self._tracker = SequenceTracker()
        self._lock = threading.Lock()
        self._observers = Observers(self)
        self._link_subscription: Subscription | None = None
        self._count = 0
        self._latency_sum = 0
        self._top_counts: collections.Counter[str] = collections.Counter()
        self._interval = 1.0 / notify_hz
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._notifier: threading.Thread | None = None
        self._started_at: float | None = None
        self._stopped_at: float | None = None

    # -- lifetime -------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._notifier is not None and not self._stop.is_set()

    def start(self) -> LiveSession:
        """Ask the board for its labels, subscribe to the link and switch on inference.

        Each start begins with an empty history and fresh counters.

        Returns:
            The session itself, so ``session = LiveSession(link).start()`` reads well.

        Raises:
            PortError: The board did not answer ``?`` with a hello.
            ConfigError: The board's hello lists no labels and none were given.
            UnplugError: The board is gone.
        """
        if self.running:
            return self
        if not self._given_labels:
            hello = self.link.request_hello()
            if not hello.labels:
                raise ConfigError(
                    f"The board on {self.link.url} announced no labels (hello: board="
                    f"{hello.board}, sensor={hello.sensor}). Is the inference sketch uploaded, or "
                    "the virtual board given a model (sim://nano33ble?model=<export dir>)? Or pass "
                    "labels=[...] to LiveSession."
                )
            self.labels = hello.labels
        with self._lock:  # every start begins a fresh count
            self._history.clear()
            self._times.clear()
            self._tracker = SequenceTracker()
            self._count = self._latency_sum = 0
            self._top_counts.clear()
            self.device_errors = ()
        self.error = None
        self._stop.clear()
        self._wake.clear()
        self._started_at = time.perf_counter()
        self._stopped_at = None
        self._link_subscription = self.link.subscribe(self._on_batch, self._on_unplug)
        self._notifier = threading.Thread(
            target=self._notify_loop, name=f"live view notifier {self.link.url}", daemon=True
        )
        self._notifier.start()
        try:
            self.link.send("i")
        except TinybenchError:
            self.stop()
            raise
        log.info("live session on %s started with labels %s", self.link.url, self.labels)
        return self

    def stop(self) -> None:
        """Switch inference off (``x``), unsubscribe and stop the notifier. Safe to call twice."""
        if self._notifier is None:
            return
        self._stop.set()
        self._wake.set()
        if self._link_subscription is not None:
            self.link.unsubscribe(self._link_subscription)
        if self.link.alive:
            with contextlib.suppress(TinybenchError):
                self.link.send("x")
        if self._notifier is not threading.current_thread():
            self._notifier.join(timeout=2.0)
        self._notifier = None
        self._stopped_at = time.perf_counter()
        self._notify()  # one last time, so views show the final state

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def run_for(self, seconds: float) -> LiveSummary:
        """Run inference for ``seconds`` (starting the session if needed) and summarize.

        The kernel waits here; observers such as a displayed ``LiveView`` keep updating from
        the session's notifier thread. A session started by this call is stopped at the end.

        Raises:
            ConfigError: ``seconds`` is negative.
            UnplugError: The board went away during the run.
        """
        if seconds < 0:
            raise ConfigError(f"seconds must not be negative, got {seconds!r}")
        started_here = not self.running
        if started_here:
            self.start()
        deadline = time.monotonic() + seconds
        while self.error is None and (left := deadline - time.monotonic()) > 0:
            self._stop.wait(min(left, 0.05))
        if started_here:
            self.stop()
        if isinstance(self.error, UnplugError):
            raise self.error
        return self.summary()

    # -- reading (on the link's reader thread) --------------------------------------------

    def _on_batch(self, batch: list[Message]) -> None:
        now = time.perf_counter()
        changed = False
        for message in batch:
            if type(message) is Prediction:
                changed = self._add_prediction(message, now) or changed
            elif type(message) is DeviceError:
                with self._lock:
                    kept = (*self.device_errors, message.message)
                    self.device_errors = kept[-_KEPT_DEVICE_ERRORS:]
                changed = True
        if changed:
            self._wake.set()

    def _add_prediction(self, prediction: Prediction, now: float) -> bool:
        scores = prediction.scores
        if not self.labels:
            self.labels = tuple(f"class_{i}" for i in range(len(scores)))
        if len(scores) != len(self.labels):
            if self.error is None:
                self.error = ProtocolError(
                    f"The board on {self.link.url} sent {len(scores)} scores per prediction but "
                    f"the labels are {list(self.labels)} ({len(self.labels)}). The model on the "
                    "board is not the one the labels describe: upload the exported sketch again, "
                    "or pass the right labels=[...] to LiveSession."
                )
                log.warning("%s", self.error)
                return True
            return False
        times = self._times
        times.append(now)
        while now - times[0] > _RATE_WINDOW_S:
            times.popleft()
        span = now - times[0]
        rate = (len(times) - 1) / span if span > 0 else 0.0
        self._tracker.update(prediction.seq)
        best = max(range(len(scores)), key=scores.__getitem__)
        update = LiveUpdate(
            seq=prediction.seq,
            scores=dict(zip(self.labels, scores, strict=True)),
            top_label=self.labels[best],
            top_score=scores[best],
            latency_us=prediction.latency_us,
            received_at=now,
            rate_hz=rate,
            lost=self._tracker.lost,
        )
        with self._lock:
            self._history.append(update)
            self._count += 1
            self._latency_sum += prediction.latency_us
            self._top_counts[update.top_label] += 1
        return True

    def _on_unplug(self, error: UnplugError) -> None:
        self.error = error
        self._wake.set()

    # -- observers ------------------------------------------------------------------------

    def subscribe(self, callback: Observer) -> Subscription:
        """Call ``callback(session)`` from the notifier thread whenever something changed.

        Observers are called at most ``notify_hz`` times a second, when there are new
        predictions, a device error or an unplug, and once more when the session stops.
        They must be quick and must not block; one that raises is logged and kept.

        Returns:
            The subscription; pass it to :meth:`unsubscribe` (or close it) to stop.
        """
        return self._observers.add(callback)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop calling the subscription's callback; one already removed is ignored."""
        self._observers.remove(subscription)

    def _notify_loop(self) -> None:
        # Sleep until something is new, then tell observers, at most once per interval: a
        # sparse stream is shown at once, a dense one is thinned out to ``notify_hz``.
        last = -self._interval
        while True:
            self._wake.wait()
            if self._stop.is_set():
                return
            delay = last + self._interval - time.perf_counter()
            if delay > 0 and self._stop.wait(delay):
                return
            self._wake.clear()
            last = time.perf_counter()
            self._notify()

    def _notify(self) -> None:
        for subscription in self._observers:
            try:
                subscription.callback(self)
            except Exception:  # an observer must never kill the notifier
                log.exception("live session observer %r failed", subscription)

    # -- reading the state ----------------------------------------------------------------

    @property
    def latest(self) -> LiveUpdate | None:
        """The most recent prediction, or ``None`` before the first one."""
        with self._lock:
            return self._history[-1] if self._history else None

    @property
    def count(self) -> int:
        """Predictions received since the session started (not bounded by the history)."""
        return self._count

    def recent(self, n: int | None = None) -> list[LiveUpdate]:
        """Return the last ``n`` predictions kept (all when ``n`` is ``None``), oldest first."""
        with self._lock:
            updates = list(self._history)
        return updates if n is None else updates[-n:] if n > 0 else []

    def history(self) -> pd.DataFrame:
        """Return the kept predictions as a DataFrame, one row each, oldest first.

        Columns: ``seq``, ``t_s`` (host receive time, seconds since start), ``latency_us``,
        ``top_label``, ``top_score``, ``rate_hz``, ``lost``, then one score column per label.
        """
        updates = self.recent()
        origin = self._started_at or 0.0
        columns = ["seq", "t_s", "latency_us", "top_label", "top_score", "rate_hz", "lost"]
        rows = [
            [
                u.seq,
                u.received_at - origin,
                u.latency_us,
                u.top_label,
                u.top_score,
                u.rate_hz,
                u.lost,
                *u.scores.values(),
            ]
            for u in updates
        ]
        return pd.DataFrame(rows, columns=[*columns, *self.labels])

    def summary(self) -> LiveSummary:
        """Return what the session received so far."""
        start = self._started_at
        end = self._stopped_at or time.perf_counter()
        seconds = 0.0 if start is None else end - start
        with self._lock:
            count, latency_sum = self._count, self._latency_sum
            tops = {label: self._top_counts[label] for label in self.labels}
        hello = self.link.hello
        return LiveSummary(
            port=self.link.url,
            virtual=bool(hello and hello.virtual),
            seconds=seconds,
            predictions=count,
            lost=self._tracker.lost,
            rate_hz=count / seconds if seconds > 0 else 0.0,
            mean_latency_us=latency_sum / count if count else None,
            top_counts=tops,
            device_errors=self.device_errors,
            error=None if self.error is None else str(self.error),
        )

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<LiveSession {self.link.url} {state}, {self._count} predictions>"
