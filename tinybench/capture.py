"""Recording labelled sessions from a board into ``data/<dataset>/<label>/<session>.csv``.

A :class:`Recorder` is handed an open :class:`~tinybench.link.Link`. For each session it asks
the board for its hello (``?``; it never waits for a boot hello, which pyserial's ``open``
flushes), tells the virtual board which gesture to perform (``g <label>``), starts the stream
(``c``), collects samples from the link's reader thread and stops the stream (``x``). Each
session becomes a CSV file with the header ``seq,t_us,<fields…>`` and a JSON sidecar (the
contract in ``docs/architecture.md``, "Dataset files"; the format itself lives in
:mod:`tinybench.sessions`).

Both files are written atomically, CSV first and sidecar last, so a crash never leaves a
half-written file and a CSV without a sidecar is never taken for a finished session. Samples are
never thrown away: an unplug writes what arrived, then raises :class:`CaptureError`; a failed
write keeps the samples in memory for :meth:`Recorder.retry_save`.

Plain CSV and Edge Impulse streams (no hello, no sequence numbers) are recorded too: fields
come from a CSV header line if one was seen, the rate is measured from host arrival times, and
the sidecar says so (``"rate_source": "host"``).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from tinybench.errors import CaptureError, ConfigError, PortError, UnplugError
from tinybench.link import Link, Subscription
from tinybench.protocol import DeviceError, Header, Hello, Message, Sample, SequenceTracker
from tinybench.sessions import (
    SESSION_FORMAT,
    Session,
    format_session_csv,
    list_sessions,
    next_session_name,
    sessions_table,
    validate_name,
    write_session,
)

__all__ = [
    "SESSION_FORMAT",
    "Recorder",
    "Session",
    "list_sessions",
    "record_dataset",
    "sessions_table",
    "validate_name",
]

log = logging.getLogger(__name__)

_UNITS = {"a": "g", "g": "dps", "m": "uT"}
_SEQ_MODULUS = 2**32


def _version() -> str:
    try:
        return metadata.version("tinybench")
    except metadata.PackageNotFoundError:
        return "unknown"


@dataclass
class _Recording:
    """Everything collected for one session, before it is written."""

    label: str
    session: str | None
    started_at: str
    hello: Hello | None
    seconds: float | None
    limit: int | None
    dropped_before: Counter[str]
    t0: float
    samples: list[Sample] = field(default_factory=list)
    arrivals: list[tuple[float, int]] = field(default_factory=list)
    tracker: SequenceTracker = field(default_factory=SequenceTracker)
    header: tuple[str, ...] | None = None
    wrong_width: int = 0
    device_errors: list[str] = field(default_factory=list)
    full: bool = False
    last_arrival: float = 0.0
    dropped: dict[str, int] = field(default_factory=dict)
    ended: str = "complete"
    error: str | None = None


class Recorder:
    """Records labelled sessions from a link into ``data_dir/dataset/<label>/``.

    Use :meth:`record` for a blocking recording, or :meth:`start` / :meth:`stop` with the live
    counters (:attr:`samples`, :attr:`lost`, :attr:`rate_hz`, :meth:`latest`) from a widget.
    The recorder owns one worker thread per session; listeners added with
    :meth:`add_listener` are called from it a few times a second and once when it ends.

    Args:
        link: An open link to a real or virtual board.
        dataset: Dataset folder name under ``data_dir``.
        data_dir: Root folder of all datasets.
        checksum: Store the SHA-256 of the CSV in the sidecar (``csv_sha256``), so a reader
            can tell a damaged file from a good one.
        hello_timeout: Seconds to wait for the board's hello; after that the stream is taken
            for plain CSV.
        idle_timeout: A session ends with an error when no sample arrives for this long.
        update_hz: How often listeners are called while recording.
        rate_hz: Nominal sample rate of a stream that does not announce one (plain CSV). By
            default the rate measured in each session, rounded to whole hertz, is used.

    Raises:
        LabelError: ``dataset`` is not a safe folder name.
    """

    def __init__(
        self,
        link: Link,
        dataset: str = "gestures",
        data_dir: str | os.PathLike[str] = "data",
        *,
        checksum: bool = True,
        hello_timeout: float = 2.0,
        idle_timeout: float = 5.0,
        update_hz: float = 8.0,
        rate_hz: float | None = None,
    ) -> None:
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
        self._plain = False
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._active = threading.Event()
        self._rec: _Recording | None = None
        self._unplug: UnplugError | None = None
        self._worker: threading.Thread | None = None
        self._outcome: Session | CaptureError | None = None
        self._unsaved: _Recording | None = None
        self._listeners: list[Callable[[Recorder], None]] = []

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

        Args:
            label: Class label, also the sub-folder name.
            seconds: Stop after this many seconds of signal: on the board's clock when its
                samples carry timestamps (so a virtual board at full speed gives
                ``seconds × rate`` samples), else on the host's clock.
            samples: Stop after exactly this many samples.
            session: Session name; by default ``<label>-<NNNN>`` with the next free number.

        Raises:
            ConfigError: Neither ``seconds`` nor ``samples`` was given.
            LabelError: The label or session name is unsafe.
            CaptureError: The board went away, stopped sending, or the files could not be
                written. Samples received are kept (written, or kept for :meth:`retry_save`).
        """
        if seconds is None and samples is None:
            raise ConfigError(
                "record() needs a limit: pass seconds=… or samples=…, or use start()/stop()."
            )
        self.start(label, seconds=seconds, samples=samples, session=session)
        return self.wait()

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
            CaptureError: A session is already being recorded, the board went away, or the
                virtual board does not know the gesture ``label``.
        """
        label = validate_name(label, "label")
        if session is not None:
            session = validate_name(session, "session")
        if samples is not None and samples < 1:
            raise ConfigError(f"samples must be at least 1, got {samples!r}.")
        if seconds is not None and seconds <= 0:
            raise ConfigError(f"seconds must be positive, got {seconds!r}.")
        if self.is_recording:
            raise CaptureError(
                f"Already recording {self._rec.label!r}; stop() it before starting another."
            )
        if session is not None:
            existing = self.folder / label / f"{session}.csv"
            if existing.exists() or existing.with_suffix(".json").exists():
                raise CaptureError(
                    f"Session {existing} already exists. Give another session name, or leave "
                    "session=None to number it automatically."
                )
        self.last_session, self.last_error, self._outcome = None, None, None
        try:
            hello = self._ask_hello()
            if hello is not None and hello.virtual:
                self._perform_gesture(label)
            rec = _Recording(
                label=label,
                session=session,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
                hello=hello,
                seconds=seconds,
                limit=samples,
                dropped_before=_snapshot(self.link.stats.dropped),
                t0=time.monotonic(),
            )
            rec.last_arrival = rec.t0
            with self._lock:
                self._rec, self._unplug = rec, None
            self._stop.clear()
            self._wake.clear()
            self.link.subscribe(self._on_batch, self._on_error)
            self.link.send("c")
        except PortError as exc:  # unplugged, or the link was closed
            self.link.unsubscribe(self._on_batch)
            with self._lock:
                self._rec = None
            raise CaptureError(
                f"Cannot record {label!r}: {exc} Nothing was recorded for this session."
            ) from exc
        self._active.set()
        self._worker = threading.Thread(target=self._run, name=f"recorder {label}", daemon=True)
        self._worker.start()

    def stop(self) -> Session:
        """Stop the current session, write it and return it.

        If the session already ended on its own, its result is returned (or its error raised).

        Raises:
            CaptureError: Nothing was recorded, the board went away, or writing failed.
        """
        self._stop.set()
        self._wake.set()
        return self.wait()

    def wait(self, timeout: float | None = None) -> Session:
        """Wait for the current session to end and return it.

        Raises:
            CaptureError: No session was started, it failed, or it did not end in ``timeout``.
        """
        worker = self._worker
        if worker is None and self._outcome is None:
            raise CaptureError("Not recording: call start(label) or record(label, …) first.")
        if worker is not None:
            worker.join(timeout)
            if worker.is_alive():
                raise CaptureError(
                    f"The session is still recording after {timeout} s; call stop() to end it."
                )
            self._worker = None
        outcome, self._outcome = self._outcome, None
        if isinstance(outcome, CaptureError):
            raise outcome
        assert outcome is not None
        return outcome

    def retry_save(self, data_dir: str | os.PathLike[str] | None = None) -> Session:
        """Write the session whose files could not be written, for example after a full disk.

        Args:
            data_dir: Another root folder to write to; by default the recorder's own.

        Raises:
            CaptureError: There is nothing unsaved, or writing failed again.
        """
        if self._unsaved is None:
            raise CaptureError("Nothing to save: every recorded session was written.")
        if data_dir is not None:
            self.data_dir = Path(data_dir)
        session = self._save(self._unsaved)
        self._unsaved = None
        return session

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
        return len(rec.samples) if rec else 0

    @property
    def lost(self) -> int:
        """Samples lost (sequence gaps) in the current session."""
        rec = self._rec
        return rec.tracker.lost if rec else 0

    @property
    def dropped(self) -> int:
        """Lines the link dropped since the current session started."""
        rec = self._rec
        if rec is None:
            return 0
        if rec.dropped:
            return sum(rec.dropped.values())
        diff = _snapshot(self.link.stats.dropped) - rec.dropped_before
        return sum(diff.values()) + rec.wrong_width

    @property
    def elapsed_s(self) -> float:
        """Seconds since the current session started."""
        rec = self._rec
        return time.monotonic() - rec.t0 if rec else 0.0

    @property
    def rate_hz(self) -> float | None:
        """Sample rate measured so far in the current session, or ``None``."""
        rec = self._rec
        if rec is None:
            return None
        with self._lock:
            return _measured_rate(rec)[0]

    @property
    def fields(self) -> tuple[str, ...]:
        """Names of the sample values of the current session."""
        rec = self._rec
        if rec is None:
            return self.hello.fields if self.hello else ()
        with self._lock:
            width = len(rec.samples[0].values) if rec.samples else 0
        return _fields(rec, width) if width else (rec.hello.fields if rec.hello else ())

    def latest(self, n: int = 238) -> np.ndarray:
        """Return the last ``n`` samples' values as an array of shape ``(≤n, fields)``."""
        rec = self._rec
        if rec is None:
            return np.empty((0, 0))
        with self._lock:
            tail = rec.samples[-n:]
        if not tail:
            return np.empty((0, len(self.fields)))
        return np.asarray([s.values for s in tail], dtype=float)

    def add_listener(self, callback: Callable[[Recorder], None]) -> None:
        """Call ``callback(recorder)`` from the worker thread while recording and at the end."""
        self._listeners.append(callback)

    def remove_listener(self, callback: Callable[[Recorder], None]) -> None:
        """Stop calling ``callback``; unknown callbacks are ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(callback)

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
        try:
            self.hello = self.link.request_hello(timeout=self.hello_timeout)
        except PortError:
            if not self.link.alive:
                raise
            log.info("no hello from %s: recording it as a plain CSV stream", self.link.url)
            self._plain = True
            return None
        return self.hello

    def _perform_gesture(self, label: str) -> None:
        """Ask the virtual board to perform ``label``; ``?`` after ``g`` marks its answer."""
        errors: list[str] = []
        with self.link.subscription() as sub:
            self.link.send("g", label.encode("ascii"))
            self.link.send("?")
            deadline = time.monotonic() + self.hello_timeout
            while time.monotonic() < deadline and not self._hello_in(sub, errors):
                pass
        unknown = [e for e in errors if "gesture" in e]
        if unknown:
            known = self.hello.extra.get("gestures", "") if self.hello else ""
            said_known = "known" in unknown[0]
            hint = f" It knows: {known.replace(',', ', ')}." if known and not said_known else ""
            raise CaptureError(
                f"The virtual board cannot perform the gesture {label!r}: it answered "
                f"{unknown[0]!r}.{hint} Pick one of the gestures it knows as the label; "
                "nothing was recorded."
            )

    @staticmethod
    def _hello_in(sub: Subscription, errors: list[str]) -> bool:
        for message in sub.get(timeout=0.1):
            if isinstance(message, DeviceError):
                errors.append(message.message)
            elif isinstance(message, Hello):
                return True
        return False

    # -- reader-thread callbacks --------------------------------------------------------------

    def _on_batch(self, batch: list[Message]) -> None:
        now = time.monotonic()
        with self._lock:
            rec = self._rec
            if rec is None:
                return
            samples, limit = rec.samples, rec.limit
            before = len(samples)
            for message in batch:
                if type(message) is Sample:
                    if rec.full or (limit is not None and len(samples) >= limit):
                        rec.full = True
                        break
                    if samples and len(message.values) != len(samples[0].values):
                        rec.wrong_width += 1
                        continue
                    if _past_seconds(rec, message):
                        rec.full = True
                        break
                    samples.append(message)
                    if message.seq is not None:
                        rec.tracker.update(message.seq)
                elif type(message) is Header:
                    rec.header = message.fields
                elif type(message) is DeviceError:
                    rec.device_errors.append(message.message)
            if len(samples) > before:
                rec.arrivals.append((now, len(samples)))
                rec.last_arrival = now
            if rec.full or (limit is not None and len(samples) >= limit):
                rec.full = True
                self._wake.set()

    def _on_error(self, error: UnplugError) -> None:
        with self._lock:
            self._unplug = error
        self._wake.set()

    # -- the worker ---------------------------------------------------------------------------

    def _run(self) -> None:
        rec = self._rec
        assert rec is not None
        period = 1.0 / self.update_hz
        while True:
            self._wake.wait(period)
            self._wake.clear()
            if self._finished(rec):
                break
            self._notify()
        self.link.unsubscribe(self._on_batch)
        with self._lock:
            unplug = self._unplug
            diff = _snapshot(self.link.stats.dropped) - rec.dropped_before
            rec.dropped = _dropped(diff, rec.wrong_width)
        if unplug is None:
            try:
                self.link.send("x")
            except (UnplugError, PortError) as exc:
                log.warning("could not stop the stream on %s: %s", self.link.url, exc)
        try:
            self._outcome = self._finish(rec, unplug)
        except Exception as exc:  # never lose samples, even to a bug
            log.exception("finishing the session of %r failed", rec.label)
            self._unsaved = rec
            self._outcome = CaptureError(
                f"Finishing the session of {rec.label!r} failed ({exc!r}). The "
                f"{len(rec.samples)} samples are kept in memory: call recorder.retry_save()."
            )
            self._outcome.__cause__ = exc
        if isinstance(self._outcome, Session):
            self.last_session = self._outcome
        else:
            self.last_error = self._outcome
        self._active.clear()
        self._notify()

    def _finished(self, rec: _Recording) -> bool:
        now = time.monotonic()
        if self._stop.is_set() or self._unplug is not None:
            if self._stop.is_set():
                rec.ended = "stopped" if rec.limit or rec.seconds else "complete"
            return True
        if rec.full:
            return True
        timestamped = bool(rec.samples) and rec.samples[0].t_us is not None
        if rec.seconds is not None and not timestamped and now - rec.t0 >= rec.seconds:
            return True
        if now - rec.last_arrival > self.idle_timeout:
            rec.ended = "stalled"
            rec.error = (
                f"no sample from {self.link.url} for {self.idle_timeout:g} s "
                f"after {len(rec.samples)} samples"
            )
            return True
        return False

    def _finish(self, rec: _Recording, unplug: UnplugError | None) -> Session | CaptureError:
        if unplug is not None:
            rec.ended, rec.error = "unplugged", str(unplug)
        if not rec.samples:
            reason = rec.error or "the board sent no samples"
            error = CaptureError(
                f"Nothing recorded for {rec.label!r}: {reason}. Check that the board streams "
                f"after 'c' (try the virtual board sim://nano33ble?seed=1)."
            )
            error.__cause__ = unplug
            return error
        try:
            session = self._save(rec)
        except CaptureError as error:
            return error
        if rec.ended in ("unplugged", "stalled"):
            error = CaptureError(
                f"The recording of {rec.label!r} ended early ({rec.error}). The "
                f"{session.samples} samples received were kept in {session.path}; reconnect "
                "the board and record the rest."
            )
            error.__cause__ = unplug
            return error
        return session

    def _notify(self) -> None:
        for callback in list(self._listeners):
            try:
                callback(self)
            except Exception:  # a broken view must not stop the recording
                log.exception("capture listener %r failed", callback)

    # -- writing ------------------------------------------------------------------------------

    def _save(self, rec: _Recording) -> Session:
        folder = self.folder / rec.label
        name = rec.session
        try:
            folder.mkdir(parents=True, exist_ok=True)
            name = name or next_session_name(folder, rec.label)
            csv_path = folder / f"{name}.csv"
            meta_path = csv_path.with_suffix(".json")
            if csv_path.exists() or meta_path.exists():
                raise FileExistsError(f"{csv_path} appeared while recording")
            with self._lock:
                samples = list(rec.samples)
            meta = self._meta(rec, name, samples)
            data = format_session_csv(meta["fields"], samples)
            if self.checksum:
                meta["csv_sha256"] = hashlib.sha256(data).hexdigest()
            write_session(csv_path, data, meta)
        except OSError as exc:
            self._unsaved = rec
            raise CaptureError(
                f"Could not write session {name or rec.label!r} to {folder}: {exc}. "
                f"The {len(rec.samples)} samples are kept in memory: free some space or fix "
                "the permissions, then call recorder.retry_save()."
            ) from exc
        session = Session.load(csv_path)
        self.sessions.append(session)
        return session

    def _meta(self, rec: _Recording, name: str, samples: list[Sample]) -> dict[str, Any]:
        hello = rec.hello
        width = len(samples[0].values)
        fields = _fields(rec, width)
        rate, source = _measured_rate(rec)
        units = list(hello.units) if hello and len(hello.units) == width else None
        meta: dict[str, Any] = {
            "format": SESSION_FORMAT,
            "dataset": self.dataset,
            "label": rec.label,
            "session": name,
            "board": hello.board if hello else "unknown",
            "virtual": bool(hello and hello.virtual),
            "sensor": hello.sensor if hello else "",
            "rate_hz": self._nominal_rate(hello, rate),
            "fields": list(fields),
            "units": units
            or [_UNITS.get(f[:1].lower(), "") if len(f) == 2 else "" for f in fields],
            "started_at": rec.started_at,
            "samples": len(samples),
            "lost_samples": rec.tracker.lost,
            "dropped_lines": rec.dropped,
            "measured_rate_hz": rate,
            "rate_source": source,
            "ended": rec.ended,
            "tinybench_version": _version(),
        }
        if rec.error:
            meta["error"] = rec.error
        if rec.device_errors:
            meta["device_errors"] = rec.device_errors[:20]
        if hello is None:
            meta["stream"] = "plain"
        return meta

    def _nominal_rate(self, hello: Hello | None, measured: float | None) -> float | None:
        if hello is not None and hello.rate_hz > 0:
            return float(hello.rate_hz)
        if self.rate_hz_nominal is not None:
            return float(self.rate_hz_nominal)
        return float(round(measured)) if measured else None


def _snapshot(counter: Counter[str]) -> Counter[str]:
    """Copy a counter that the link's reader thread may be updating."""
    while True:
        try:
            return Counter(dict(counter))
        except RuntimeError:  # changed size while being copied: try again
            continue


def _past_seconds(rec: _Recording, sample: Sample) -> bool:
    """True when ``sample`` lies ``rec.seconds`` or more after the first, on the board's clock."""
    if rec.seconds is None or sample.t_us is None or not rec.samples:
        return False
    first = rec.samples[0].t_us
    return first is not None and (sample.t_us - first) % _SEQ_MODULUS >= rec.seconds * 1e6


def _fields(rec: _Recording, width: int) -> tuple[str, ...]:
    if rec.hello is not None and len(rec.hello.fields) == width:
        return rec.hello.fields
    if rec.header is not None and len(rec.header) == width:
        return rec.header
    return tuple(f"v{i}" for i in range(width))


def _dropped(diff: Counter[str], wrong_width: int) -> dict[str, int]:
    dropped = {"checksum": 0, **{reason: n for reason, n in sorted(diff.items()) if n > 0}}
    if wrong_width:
        dropped["wrong-width"] = wrong_width
    return dropped


def _measured_rate(rec: _Recording) -> tuple[float | None, str]:
    """Rate from device timestamps and sequence numbers, else from host arrival times."""
    samples = rec.samples
    first, last = (samples[0], samples[-1]) if samples else (None, None)
    if first is not None and first.t_us is not None and last.t_us is not None:
        span_us = (
            (last.t_us - first.t_us) % _SEQ_MODULUS
            if last.t_us < first.t_us
            else (last.t_us - first.t_us)
        )
        if first.seq is not None and last.seq is not None:
            intervals = len(samples) - 1 + rec.tracker.lost
        else:
            intervals = len(samples) - 1
        rate = intervals * 1e6 / span_us if span_us > 0 and intervals > 0 else None
        return (round(rate, 2) if rate else None), "device"
    arrivals = rec.arrivals
    if len(arrivals) >= 2:
        (t_first, n_first), (t_last, n_last) = arrivals[0], arrivals[-1]
        if t_last > t_first:
            return round((n_last - n_first) / (t_last - t_first), 2), "host"
    return None, "host"


def record_dataset(
    link: Link,
    dataset: str,
    labels: Sequence[str],
    sessions_per_label: int,
    samples_per_session: int,
    data_dir: str | os.PathLike[str] = "data",
    *,
    replace: bool = False,
    progress: bool = True,
) -> list[Session]:
    """Record ``sessions_per_label`` sessions of ``samples_per_session`` samples per label.

    With the virtual board (``sim://…&speed=0``) each session takes a fraction of a second.

    Args:
        link: An open link.
        dataset: Dataset folder name under ``data_dir``.
        labels: Class labels; for the virtual board, gestures it knows.
        sessions_per_label: Sessions to record for each label.
        samples_per_session: Samples in each session.
        data_dir: Root folder of all datasets.
        replace: Replace the sessions already recorded for these labels (other files in the
            dataset folder, such as a README, stay). The new sessions are recorded into a
            staging folder first, so a failure leaves the old ones untouched.
        progress: Show a tqdm progress bar.

    Raises:
        LabelError: A label or the dataset name is unsafe.
        CaptureError: A session failed; sessions recorded before it are kept.
    """
    labels = [validate_name(label, "label") for label in labels]
    if not labels or sessions_per_label < 1 or samples_per_session < 1:
        raise ConfigError(
            f"record_dataset needs labels and positive counts, got labels={labels!r}, "
            f"sessions_per_label={sessions_per_label!r}, "
            f"samples_per_session={samples_per_session!r}."
        )
    from tqdm.auto import tqdm

    root = Path(data_dir)
    dataset = validate_name(dataset, "dataset")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".{dataset}-")) if replace else None
    recorder = Recorder(link, dataset, staging or root)
    total = len(labels) * sessions_per_label
    try:
        with tqdm(total=total, desc=f"recording {dataset}", disable=not progress) as bar:
            for label in labels:
                for _ in range(sessions_per_label):
                    recorder.record(label, samples=samples_per_session)
                    bar.update(1)
        if staging is None:
            return recorder.sessions
        target = root / dataset
        target.mkdir(parents=True, exist_ok=True)
        for label in labels:
            shutil.rmtree(target / label, ignore_errors=True)
            os.replace(staging / dataset / label, target / label)
        return [Session.load(target / s.label / s.path.name) for s in recorder.sessions]
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
