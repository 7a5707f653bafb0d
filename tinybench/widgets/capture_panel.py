"""``CapturePanel``: an ipywidgets view over a :class:`~tinybench.capture.Recorder`.

The panel holds no recording logic and owns no thread. It calls ``start``/``stop`` on the
recorder and redraws when the recorder's worker thread notifies it (a few times a second),
so the kernel stays free while recording.
"""

from __future__ import annotations

import html
import io
import threading
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from tinybench.capture import Recorder, Session, validate_name
from tinybench.errors import CaptureError, ConfigError

__all__ = ["DEFAULT_LABELS", "CapturePanel"]

DEFAULT_LABELS = ("idle", "wave", "punch", "flex", "circle")


class CapturePanel:
    """Record labelled sessions from a notebook: label picker, start/stop, live plot, counters.

    Display it by leaving it as the last expression of a cell, or with ``display(panel)``.

    Args:
        recorder: The recorder to drive; the panel only observes it.
        labels: Labels to offer; more can be typed in the "New label" box.
        seconds: Initial session length in seconds (the slider).
        plot_samples: How many of the latest samples the live plot shows.
        plot_hz: Highest redraw rate of the live plot.

    Raises:
        LabelError: One of ``labels`` is not a safe folder name.
    """

    def __init__(
        self,
        recorder: Recorder,
        labels: Sequence[str] = DEFAULT_LABELS,
        *,
        seconds: float = 3.0,
        plot_samples: int = 238,
        plot_hz: float = 4.0,
    ) -> None:
        labels = [validate_name(label, "label") for label in labels]
        if not labels:
            raise ConfigError("CapturePanel needs at least one label, e.g. labels=['wave'].")
        self.recorder = recorder
        self.plot_samples = plot_samples
        self._plot_period = 1.0 / plot_hz
        self._last_plot = 0.0
        self._plot_lock = threading.Lock()
        self._figure: Any = None
        self._lines: list[Any] = []

        self.label = widgets.Dropdown(options=labels, value=labels[0], description="Label")
        self.new_label = widgets.Text(placeholder="new label", description="New label")
        self.add_label = widgets.Button(description="Add", tooltip="Add the new label")
        self.seconds = widgets.FloatSlider(
            value=seconds, min=0.5, max=30.0, step=0.5, description="Seconds"
        )
        self.start_button = widgets.Button(
            description="Start", button_style="success", icon="circle"
        )
        self.stop_button = widgets.Button(
            description="Stop", button_style="danger", icon="stop", disabled=True
        )
        self.counters = widgets.HTML()
        self.status = widgets.HTML()
        self.plot = widgets.Image(format="png", layout=widgets.Layout(width="640px"))
        self.session_list = widgets.HTML()

        self.add_label.on_click(self._on_add_label)
        self.new_label.on_submit(self._on_add_label)
        self.start_button.on_click(self._on_start)
        self.stop_button.on_click(self._on_stop)
        recorder.add_listener(self._on_update)

        where = html.escape(str(recorder.folder))
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>Capture</b> into <code>{where}</code>"),
                widgets.HBox([self.label, self.new_label, self.add_label]),
                widgets.HBox([self.seconds, self.start_button, self.stop_button]),
                self.counters,
                self.plot,
                self.status,
                self.session_list,
            ]
        )
        self._show_counters()
        self._show_sessions()

    # -- display ------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop observing the recorder and close the widgets."""
        self.recorder.remove_listener(self._on_update)
        _close(self.widget)

    # -- handlers -----------------------------------------------------------------------------

    def _on_add_label(self, _: Any = None) -> None:
        text = self.new_label.value.strip()
        try:
            label = validate_name(text, "label")
        except CaptureError as exc:
            self._error(str(exc))
            return
        if label not in self.label.options:
            self.label.options = [*self.label.options, label]
        self.label.value = label
        self.new_label.value = ""
        self._info(f"Label {label!r} added.")

    def _on_start(self, _: Any = None) -> None:
        label = self.label.value
        try:
            self.recorder.start(label, seconds=self.seconds.value)
        except CaptureError as exc:
            self._error(str(exc))
            return
        self.start_button.disabled = True
        self.stop_button.disabled = False
        self._info(f"Recording {label!r} for {self.seconds.value:g} s…")

    def _on_stop(self, _: Any = None) -> None:
        try:
            session = self.recorder.stop()
        except CaptureError as exc:
            self._error(str(exc))
        else:
            self._saved(session)
        self._idle()

    def _on_update(self, recorder: Recorder) -> None:
        """Called from the recorder's worker thread while recording and once at the end."""
        self._show_counters()
        if recorder.is_recording:
            self._draw(force=False)
            return
        self._draw(force=True)
        if recorder.last_error is not None:
            self._error(str(recorder.last_error))
        elif recorder.last_session is not None:
            self._saved(recorder.last_session)
        self._idle()

    # -- drawing ------------------------------------------------------------------------------

    def _idle(self) -> None:
        self.start_button.disabled = False
        self.stop_button.disabled = True
        self._show_counters()
        self._show_sessions()

    def _info(self, text: str) -> None:
        self.status.value = f"<span>{html.escape(text)}</span>"

    def _error(self, text: str) -> None:
        self.status.value = f"<span style='color:#b00020'>⚠ {html.escape(text)}</span>"

    def _saved(self, session: Session) -> None:
        self._info(
            f"Saved {session.samples} samples of {session.label!r} to {session.path} "
            f"({session.lost_samples} lost)."
        )

    def _show_counters(self) -> None:
        r = self.recorder
        rate = r.rate_hz
        total = r.samples + r.lost
        loss = f"{100 * r.lost / total:.1f}%" if total else "0%"
        self.counters.value = (
            f"<code>samples {r.samples} · lost {r.lost} ({loss}) · dropped lines {r.dropped} · "
            f"rate {'-' if rate is None else f'{rate:.1f} Hz'} · {r.elapsed_s:.1f} s</code>"
        )

    def _show_sessions(self) -> None:
        sessions = self.recorder.sessions
        if not sessions:
            self.session_list.value = "<i>No sessions recorded yet.</i>"
            return
        rows = "".join(
            f"<tr><td>{html.escape(s.label)}</td><td>{html.escape(s.name)}</td>"
            f"<td>{s.samples}</td><td>{s.lost_samples}</td>"
            f"<td>{html.escape(s.meta.get('ended', 'complete'))}</td></tr>"
            for s in reversed(sessions[-20:])
        )
        self.session_list.value = (
            f"<b>{len(sessions)} sessions recorded</b> (latest first)<table>"
            "<tr><th>label</th><th>session</th><th>samples</th><th>lost</th><th>ended</th></tr>"
            f"{rows}</table>"
        )

    def _draw(self, force: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_plot < self._plot_period:
            return
        with self._plot_lock:
            self._last_plot = now
            values = self.recorder.latest(self.plot_samples)
            if values.size == 0:
                return
            self.plot.value = self._render(values, self.recorder.fields)

    def _render(self, values: Any, fields: Sequence[str]) -> bytes:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        width = values.shape[1]
        if self._figure is None or len(self._lines) != width:
            # A fixed layout and no antialiasing: ~25 ms and ~20 KB per frame, not ~50 ms / 70 KB.
            self._figure = Figure(figsize=(6.4, 2.4), dpi=80)
            self._figure.subplots_adjust(left=0.08, right=0.99, top=0.88, bottom=0.18)
            FigureCanvasAgg(self._figure)
            axes = self._figure.add_subplot()
            axes.set_xlabel("sample")
            self._lines = [
                axes.plot([], [], lw=1, antialiased=False, label=name)[0] for name in fields[:width]
            ]
            axes.legend(loc="upper left", ncols=min(width, 6), fontsize="small")
        axes = self._figure.axes[0]
        x = range(len(values))
        for column, line in enumerate(self._lines):
            line.set_data(x, values[:, column])
        axes.set_xlim(0, max(self.plot_samples, 1))
        low, high = float(values.min()), float(values.max())
        pad = 0.05 * (high - low) or 1.0
        axes.set_ylim(low - pad, high + pad)
        axes.set_title(f"{self.recorder.label}: last {len(values)} samples", fontsize="small")
        buffer = io.BytesIO()
        self._figure.canvas.print_png(buffer)
        return buffer.getvalue()


def _close(widget: widgets.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()
