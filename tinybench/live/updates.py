"""What a live session hands out: one :class:`LiveUpdate` per prediction and a :class:`LiveSummary`.

The same objects come back from the virtual board and from a real board.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["LiveSummary", "LiveUpdate"]


@dataclass(frozen=True)
class LiveUpdate:
    """One prediction from the board, as the host received it.

    Attributes:
        seq: The board's sequence number of the prediction.
        scores: Score per label, in label order.
        top_label: The label with the highest score.
        top_score: That highest score.
        latency_us: Time the board spent in ``Invoke()``, in microseconds, as it reported.
        received_at: Host time the line was parsed, on the :func:`time.perf_counter` clock.
        rate_hz: Predictions per second received over the last second.
        lost: Predictions missing from gaps in sequence numbers since the session started.
    """

    seq: int
    scores: dict[str, float] = field(hash=False)
    top_label: str
    top_score: float
    latency_us: int
    received_at: float
    rate_hz: float
    lost: int


@dataclass(frozen=True)
class LiveSummary:
    """What a live session received, for a notebook or a log line.

    Attributes:
        port: URL or path of the board.
        virtual: True when the board announced itself as tinybench's virtual board.
        seconds: Time since the session started, in seconds.
        predictions: Predictions received.
        lost: Predictions missing from gaps in sequence numbers.
        rate_hz: Mean rate of predictions received, per second.
        mean_latency_us: Mean ``Invoke()`` time reported by the board, or ``None``.
        top_counts: How often each label was the top label.
        device_errors: ``!`` lines the board sent during the session.
        error: Why the session ended early, or ``None``.
    """

    port: str
    virtual: bool
    seconds: float
    predictions: int
    lost: int
    rate_hz: float
    mean_latency_us: float | None
    top_counts: dict[str, int] = field(hash=False)
    device_errors: tuple[str, ...] = ()
    error: str | None = None

    def __str__(self) -> str:
        board = "virtual board" if self.virtual else "board"
        latency = "n/a" if self.mean_latency_us is None else f"{self.mean_latency_us:,.0f} µs"
        tops = ", ".join(f"{label} {count}" for label, count in self.top_counts.items())
        lines = [
            f"Live inference on the {board} at {self.port}: {self.predictions} predictions in "
            f"{self.seconds:.1f} s ({self.rate_hz:.1f}/s), {self.lost} lost, "
            + (
                f"mean Invoke time {latency} (TFLM on this computer, not a microcontroller)."
                if self.virtual
                else f"mean on-device latency {latency}."
            ),
            f"Top label counts: {tops or 'none'}.",
        ]
        if self.device_errors:
            lines.append(
                f"The board reported {len(self.device_errors)} error(s), last: "
                f"{self.device_errors[-1]!r}."
            )
        if self.error:
            lines.append(f"Stopped early: {self.error}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: object, cycle: bool) -> None:
        printer.text(str(self))  # type: ignore[attr-defined]
