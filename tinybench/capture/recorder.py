"""Recording labelled sessions from a board into ``data/<dataset>/<label>/<session>.csv``.

A :class:`Recorder` is handed an open :class:`~tinybench.wire.link.Link`. For each session it
asks the board for its hello (``?``, again every half second until the board answers, so a board
that resets when the port opens is heard once it has booted), tells the virtual board which
gesture to perform (``g <label>``), reserves the session's name, starts the stream (``c``),
writes samples to disk as they arrive and stops the stream (``x``). The files, the recovery
of sessions whose recorder died and the ways a session ends are described in
``docs/data-format.md``.

A stream without a hello (plain CSV, Edge Impulse forwarder lines, the Arduino ``IMU_Capture``
sketch) is recorded as it comes: fields from a CSV header line if one was seen, the rate from
the user (``rate_hz=``) or measured from host arrival times.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tinybench.capture.board_talk import ask_hello, perform_gesture
from tinybench.capture.names import validate_name
from tinybench.capture.partial import PartialSession, recover_sessions
from tinybench.capture.recording import Limits, Recording, require_positive
from tinybench.capture.sessions import Session
from tinybench.capture.worker import SessionWorker, link_drops
from tinybench.errors import CaptureError, ConfigError, PortError
from tinybench.wire.link import Link
from tinybench.wire.observers import Observers, Subscription
from tinybench.wire.protocol import Hello, Message

__all__ = ["Recorder"]

log = logging.getLogger(__name__)


class Recorder:
    """Records labelled sessions from a link into ``data_dir/dataset/<label>/``.

    Use :meth:`record` for a blocking recording, or :meth:`start` / :meth:`stop` with the live
    counters (:attr:`samples`, :attr:`lost`, :attr:`rate_hz`, :meth:`latest`) from a widget.
    The recorder owns one worker thread per session; callbacks given to :meth:`subscribe` are
    called from it a few times a second and once when the session ends. Creating a recorder
    first recovers the dataset's sessions whose recorder died (:attr:`recovered`).

    Args:
        link: An open link to a real or virtual board.
        dataset: Dataset folder name under ``data_dir``.
        data_dir: Root folder of all datasets.
        checksum: Store the SHA-256 of the CSV in the sidecar (``csv_sha256``), which
            ``Dataset.load`` checks.
        hello_timeout: Seconds to wait for the board's hello; after that the stream is taken
            for plain CSV. Boards that reset when the port opens need about 2.5 s.
        idle_timeout: A session ends as ``stalled`` when no sample arrives for this long.
        update_hz: How often subscribers are called while recording.
        rate_hz: Sample rate of a stream that does not announce one (plain CSV). By default
            the rate measured in each session, rounded to whole hertz, is used.

    Raises:
        LabelError: ``dataset`` is not a safe folder name.
        ConfigError: A timeout or the rate is not a finite positive number.
    """

    def __init__(
        self,
        link: Link,
        dataset: str = "gestures",
        data_dir: str | os.PathLike[str] = "data",
        *,
        checksum: bool = True,
        hello_timeout: float = 3.0,
        idle_timeout: float = 5.0,
        update_hz: float = 8.0,
        rate_hz: float | None = None,
    ) -> None:
        for value, what in [(hello_timeout, "hello_timeout"), (idle_timeout, "idle_timeout")]:
            require_positive(value, what)
        require_positive(update_hz, "update_hz")
        require_positive(rate_hz, "rate_hz")
        self.link = link
        self.dataset = validate_name(dataset, "dataset")
        self.data_dir = Path(data_dir)
        self.checksum = checksum
        self.hello_timeout = hello_timeout
        self.idle_timeout = idle_timeout
        self.update_hz = update_hz
        self.rate_hz_nominal = rate_hz
        self.hello: Hello | None = None
        self.sessions: list[Session] = []
        self.last_session: Session | None = None
        self.last_error: CaptureError | None = None
        self.recovered: list[Session] = recover_sessions(self.folder)
        self._plain = False
        self._active = threading.Event()
        self._worker: SessionWorker | None = None
        self._unsaved: SessionWorker | None = None
        self._carry: list[Message] = []
        self._header: tuple[str, ...] | None = None
        self._observers = Observers(self)

    # -- public API ---------------------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """The dataset folder, ``data_dir/dataset``."""
        return self.data_dir / self.dataset

    def record(
        self,
        label: str,
        seconds: float | None = None,
        samples: int | None = None,
        session: str | None = None,
    ) -> Session:
        """Record one session and return it once written; stops at whichever limit comes first.

        A ``KeyboardInterrupt`` (Ctrl-C, or "Interrupt kernel" in Jupyter) finishes the
        session as ``interrupted``, with every sample received, then propagates.

        Args:
            label: Class label, also the sub-folder name.
            seconds: Stop after this many seconds of signal: on the board's clock when its
                samples carry timestamps (so a virtual board at full speed gives
                ``seconds × rate`` samples), else on the host's clock.
            samples: Stop after exactly this many samples.
            session: Session name; by default ``<label>-<NNNN>`` with the next free number.

        Raises:
            ConfigError: Neither ``seconds`` nor ``samples`` was given, or one is not a finite
                positive number.
            LabelError: The label or session name is unsafe.
            CaptureError: The board went away, stopped sending, or the files could not be
                written. Samples received are kept on disk.
        """
        if seconds is None and samples is None:
            raise ConfigError(
                "record() needs a limit: pass seconds=… or samples=…, or use start()/stop()."
            )
        self.start(label, seconds=seconds, samples=samples, session=session)
        return self.wait()

    # Long because it sets up a session in order and undoes it all if anything fails half-way.
    def start(
        self,
        label: str,
        *,
        seconds: float | None = None,
        samples: int | None = None,
        session: str | None = None,
    ) -> None:
        """Start recording ``label`` in the background; see :meth:`record` for the arguments.

        Raises:
            CaptureError: A session is already being recorded or the name is taken, the board
                went away, or the virtual board does not know the gesture ``label``.
        """
        label = validate_name(label, "label")
        if session is not None:
            session = validate_name(session, "session")
        require_positive(samples, "samples", integer=True)
        require_positive(seconds, "seconds")
        if self.is_recording:
            raise CaptureError(
                f"Already recording {self.label!r}; stop() it before starting another."
            )
        self.last_session, self.last_error = None, None
        partial: PartialSession | None = None
        worker: SessionWorker | None = None
        try:
            hello = self._ask_hello()
            if hello is not None and hello.virtual:
                perform_gesture(self.link, label, hello, self.hello_timeout)
            partial = PartialSession.reserve(self.folder / label, label, session)
            draft = self._draft(label, partial.name)
            rec = Recording(partial, draft, hello, Limits(seconds, samples), self._header)
            rec.take(self._carry)
            self._carry = []
            worker = SessionWorker(
                self.link,
                rec,
                idle_timeout=self.idle_timeout,
                update_hz=self.update_hz,
                checksum=self.checksum,
                notify=self._notify,
                on_done=self._session_ended,
            )
            self.link.send("c")
        except BaseException as exc:
            if worker is not None:
                worker.cancel()
            if partial is not None:
                partial.discard()
            if isinstance(exc, PortError | OSError):  # unplugged, closed, folder not writable
                raise CaptureError(
                    f"Cannot record {label!r}: {exc} Nothing was recorded for this session."
                ) from exc
            raise
        self._worker = worker
        self._active.set()
        worker.start()

    def stop(self) -> Session:
        """Stop the current session (``ended: "stopped"``), write it and return it.

        If the session already ended on its own, its result is returned (or its error raised).

        Raises:
            CaptureError: Nothing was recorded, the board went away, or writing failed.
        """
        if self._worker is not None:
            self._worker.end(None)
        return self.wait()

    def wait(self, timeout: float | None = None) -> Session:
        """Wait for the current session to end and return it.

        A ``KeyboardInterrupt`` while waiting finishes the session as ``interrupted``, with
        every sample received, then propagates.

        Raises:
            CaptureError: No session was started, it failed, or it did not end in ``timeout``.
        """
        worker = self._worker
        if worker is None:
            raise CaptureError("Not recording: call start(label) or record(label, …) first.")
        try:
            finished = worker.done.wait(timeout)  # an Event: an interrupted join() can return
        except KeyboardInterrupt:
            worker.end("interrupted")
            worker.done.wait()
            self._worker = None
            raise
        if not finished:
            raise CaptureError(
                f"The session is still recording after {timeout} s; call stop() to end it."
            )
        self._worker = None
        if isinstance(worker.outcome, CaptureError):
            raise worker.outcome
        assert worker.outcome is not None
        return worker.outcome

    def retry_save(self) -> Session:
        """Finish the session whose files could not be written, for example after a full disk.

        Raises:
            CaptureError: There is nothing unsaved, or writing failed again.
        """
        worker = self._unsaved
        if worker is None:
            raise CaptureError("Nothing to save: every recorded session was written.")
        session = worker.retry()
        self._unsaved = None
        self.sessions.append(session)
        return session

    @property
    def unsaved_samples(self) -> int:
        """Samples of a session whose files could not be finished (see :meth:`retry_save`)."""
        worker = self._unsaved
        return worker.rec.shape.count if worker is not None else 0

    def subscribe(self, callback: Callable[[Recorder], None]) -> Subscription:
        """Call ``callback(recorder)`` from the worker thread while recording and at the end.

        Returns:
            The subscription; pass it to :meth:`unsubscribe` (or close it) to stop.
        """
        return self._observers.add(callback)

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop calling the subscription's callback; one already removed is ignored."""
        self._observers.remove(subscription)

    # -- live counters --------------------------------------------------------------------------

    @property
    def _rec(self) -> Recording | None:
        worker = self._worker or self._unsaved
        return worker.rec if worker is not None else None

    @property
    def is_recording(self) -> bool:
        """True while a session is being recorded."""
        return self._active.is_set()

    @property
    def label(self) -> str | None:
        """Label of the session being recorded (or last recorded)."""
        rec = self._rec
        return rec.label if rec else None

    @property
    def samples(self) -> int:
        """Samples received in the current session."""
        rec = self._rec
        return rec.shape.count if rec else 0

    @property
    def lost(self) -> int:
        """Samples lost (sequence gaps) in the current session."""
        rec = self._rec
        return rec.shape.lost if rec else 0

    @property
    def dropped(self) -> int:
        """Lines dropped since the current session started (by the link or the recorder)."""
        rec = self._rec
        if rec is None:
            return 0
        return sum(link_drops(self.link, rec.dropped_before).values()) + sum(rec.drops.values())

    @property
    def elapsed_s(self) -> float:
        """Seconds since the current session started."""
        rec = self._rec
        return time.monotonic() - rec.t0 if rec else 0.0

    @property
    def rate_hz(self) -> float | None:
        """Sample rate measured so far in the current session, or ``None``."""
        rec = self._rec
        return rec.rate_hz() if rec else None

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the sample values of the current session."""
        rec = self._rec
        if rec is None or not rec.shape.width:
            hello = rec.shape.hello if rec else self.hello
            return hello.fields if hello else ()
        with rec.lock:
            return rec.shape.fields()

    def latest(self, n: int = 238) -> np.ndarray:
        """Return the last ``n`` samples' values as an array of shape ``(≤n, fields)``."""
        rec = self._rec
        if rec is None:
            return np.empty((0, 0))
        tail = rec.latest(n)
        return tail if len(tail) else np.empty((0, len(self.fields)))

    def __repr__(self) -> str:
        state = f"recording {self.label!r}" if self.is_recording else "idle"
        return (
            f"<Recorder {self.link.url} -> {self.folder}: {len(self.sessions)} sessions "
            f"recorded, {state}>"
        )

    # -- talking to the board -----------------------------------------------------------------

    def _ask_hello(self) -> Hello | None:
        if self._plain:
            return None
        self.hello = ask_hello(self.link, self.hello_timeout)
        if self.hello is None:
            log.info("no hello from %s: recording it as a plain stream", self.link.url)
            self._plain = True
        return self.hello

    def _draft(self, label: str, name: str) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "label": label,
            "session": name,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "rate_hz": self.rate_hz_nominal,
            "pid": os.getpid(),
        }

    def _session_ended(self, worker: SessionWorker) -> None:
        """Called on the worker thread when its session has ended."""
        rec, outcome = worker.rec, worker.outcome
        self._carry, self._header = rec.carry, rec.shape.header
        if rec.shape.hello is not None:  # a late boot hello: no need to wait for it next time
            self.hello, self._plain = rec.shape.hello, False
        if worker.session is not None:
            self.sessions.append(worker.session)
            self.last_session = worker.session
        if isinstance(outcome, CaptureError):
            self.last_error = outcome
        self._unsaved = worker if worker.unsaved else None
        self._active.clear()

    def _notify(self) -> None:
        for subscription in self._observers:
            try:
                subscription.callback(self)
            except Exception:  # a broken view must not stop the recording
                log.exception("capture subscriber %r failed", subscription)
