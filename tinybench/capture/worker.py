"""The thread that records one session: it writes samples as they come, ends, and finishes.

A :class:`SessionWorker` is started by the :class:`~tinybench.capture.recorder.Recorder` once
the board streams. Several times a second (at least every half
:data:`~tinybench.capture.partial.SYNC_SECONDS`) it appends what arrived to the partial file,
re-sends ``c`` after a late or repeated hello, tells the recorder's subscribers, and checks
whether the session is over: a limit reached, a blank line, ``stop()``, an interrupt, an unplug,
or no sample for ``idle_timeout`` seconds. Then it stops the stream (``x``) and finishes the
files; samples that could not be written stay in memory for :meth:`SessionWorker.retry`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable

from tinybench.capture.partial import SYNC_SECONDS
from tinybench.capture.recording import Recording
from tinybench.capture.sessions import Session
from tinybench.errors import CaptureError, PortError, UnplugError
from tinybench.wire.link import Link

__all__ = ["SessionWorker", "link_drops"]

log = logging.getLogger(__name__)


def _snapshot(counter: Counter[str]) -> Counter[str]:
    """Copy a counter that the link's reader thread may be updating."""
    while True:
        try:
            return Counter(dict(counter))
        except RuntimeError:  # changed size while being copied: try again
            continue


def link_drops(link: Link, before: Counter[str]) -> dict[str, int]:
    """The link's dropped lines since ``before`` (a snapshot), by reason; ``checksum`` always."""
    diff = _snapshot(link.stats.dropped) - before
    return {"checksum": 0, **{k: n for k, n in sorted(diff.items()) if n > 0}}


class SessionWorker:
    """Records one session on its own thread.

    Args:
        link: The open link; the worker subscribes to it at once.
        rec: The session's state.
        idle_timeout: Seconds without a sample before the session ends as ``stalled``.
        update_hz: How often ``notify`` is called.
        checksum: Store ``csv_sha256`` in the sidecar.
        notify: Called on the worker thread while recording and once at the end.
        on_done: Called on the worker thread with the worker when the session has ended,
            before :attr:`done` is set.

    Attributes:
        done: Set when the session has ended and :attr:`outcome` holds its result.
        outcome: The finished session, or the error that ended it.
        session: The finished session, also when it ended early with an error.
    """

    def __init__(
        self,
        link: Link,
        rec: Recording,
        *,
        idle_timeout: float,
        update_hz: float,
        checksum: bool,
        notify: Callable[[], None],
        on_done: Callable[[SessionWorker], None],
    ) -> None:
        self.link, self.rec = link, rec
        self.idle_timeout, self.checksum = idle_timeout, checksum
        self._period = min(1.0 / update_hz, SYNC_SECONDS / 2)
        self._notify, self._on_done = notify, on_done
        self.done = threading.Event()
        self.outcome: Session | CaptureError | None = None
        self.session: Session | None = None
        self.unplug: UnplugError | None = None
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._ending: str | None = None
        rec.dropped_before = _snapshot(link.stats.dropped)
        self._subscription = link.subscribe(rec.take, self._on_error, blocks=True)

    def start(self) -> None:
        """Start the thread (after the board was told to stream)."""
        name = f"recorder {self.rec.label}"
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def cancel(self) -> None:
        """Stop listening to the link before the thread was started."""
        self.link.unsubscribe(self._subscription)

    def end(self, ended: str | None) -> None:
        """Ask the session to end, as ``ended`` (default ``stopped``, or ``complete``)."""
        self._ending = ended
        self._stop.set()
        self._wake.set()

    def _on_error(self, error: BaseException) -> None:
        if isinstance(error, UnplugError):
            self.unplug = error
        self._wake.set()

    def _run(self) -> None:
        rec = self.rec
        try:
            while True:
                self._wake.wait(self._period)
                self._wake.clear()
                self._tick()
                if self._finished():
                    break
                self._notify()
            self.link.unsubscribe(self._subscription)
            rec.dropped = link_drops(self.link, rec.dropped_before)
            if self.unplug is None:
                self._send_quietly("x")
            self.outcome = self._finish()
        except Exception as exc:  # never lose samples, even to a bug
            log.exception("recording the session of %r failed", rec.label)
            self.outcome = self._write_failed(exc)
        finally:
            self._on_done(self)
            self.done.set()
            self._notify()

    def _tick(self) -> None:
        """Write what arrived, and ask the board to stream again after a late hello."""
        rec = self.rec
        if rec.resend:
            rec.resend = False
            self._send_quietly("c")
            try:
                rec.write_draft()
            except OSError as exc:
                log.warning("could not update %s: %s", rec.partial.draft_path, exc)
        try:
            rec.write_pending()
        except OSError as exc:  # kept in memory, tried again at the next tick
            log.warning("could not write to %s: %s", rec.partial.path, exc)

    def _send_quietly(self, command: str) -> None:
        try:
            self.link.send(command)
        except (UnplugError, PortError) as exc:
            log.warning("could not send %r to %s: %s", command, self.link.url, exc)

    def _finished(self) -> bool:
        rec, now = self.rec, time.monotonic()
        if self._stop.is_set():
            limited = rec.limits.seconds is not None or rec.limits.samples is not None
            rec.ended = self._ending or ("stopped" if limited else "complete")
            return True
        if self.unplug is not None:
            rec.ended, rec.error = "unplugged", str(self.unplug)
            return True
        seconds = rec.limits.seconds
        if rec.full or (
            seconds is not None and not rec.shape.timestamped and now - rec.t0 >= seconds
        ):
            return True
        if now - rec.last_arrival > self.idle_timeout:
            rec.ended = "stalled"
            rec.error = (
                f"no sample from {self.link.url} for {self.idle_timeout:g} s "
                f"after {rec.shape.count} samples"
            )
            return True
        return False

    def _finish(self) -> Session | CaptureError:
        rec = self.rec
        try:
            rec.write_pending()
            if rec.shape.count == 0:
                rec.partial.discard()
                reason = rec.error or "the board sent no samples"
                error = CaptureError(
                    f"Nothing recorded for {rec.label!r}: {reason}. Check that the board "
                    "streams after 'c' (try the virtual board sim://nano33ble?seed=1)."
                )
                error.__cause__ = self.unplug
                return error
            session = rec.partial.finish(rec.meta(rec.dropped), checksum=self.checksum)
        except OSError as exc:
            return self._write_failed(exc)
        self.session = session
        if rec.ended in ("unplugged", "stalled", "error"):
            error = CaptureError(
                f"The recording of {rec.label!r} ended early ({rec.error}). The "
                f"{session.samples} samples received were kept in {session.path}; reconnect "
                "the board and record the rest."
            )
            error.__cause__ = self.unplug
            return error
        return session

    def retry(self) -> Session:
        """Finish the session again after its files could not be written.

        Raises:
            CaptureError: Writing failed again.
        """
        rec = self.rec
        try:
            rec.write_pending()
            session = rec.partial.finish(rec.meta(rec.dropped), checksum=self.checksum)
        except OSError as exc:
            raise self._write_failed(exc) from exc
        self.outcome = self.session = session
        return session

    @property
    def unsaved(self) -> bool:
        """True when the session's files could not be finished."""
        return isinstance(self.outcome, CaptureError) and self.rec.partial.path.exists()

    def _write_failed(self, exc: BaseException) -> CaptureError:
        partial = self.rec.partial
        error = CaptureError(
            f"Could not finish session {partial.name} in {partial.folder}: {exc}. "
            f"{partial.rows} samples are safe in {partial.path} and "
            f"{self.rec.pending_count} more are held in memory. Free some space or fix the "
            "permissions, then finish it with retry_save(); whatever is on disk is also "
            "recovered by the next capture or Dataset.load of this dataset."
        )
        error.__cause__ = exc
        return error
