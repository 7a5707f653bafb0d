"""``CapturePanel``: an ipywidgets view over a :class:`~tinybench.capture.recorder.Recorder`.

The panel holds no recording logic and owns no thread. It calls ``start``/``stop`` on the
recorder and redraws when the recorder's worker thread notifies it (a few times a second),
so the kernel stays free while recording.

The live plot puts each kind of quantity on its own axes with its unit (for the IMU,
acceleration in ``g`` and angular rate in ``dps``, as the board's hello announces them), with
the legends beside the axes so they never cover the signal.
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

__all__ = ["CLOSED_LINK_MESSAGE", "DEFAULT_LABELS", "CapturePanel"]

DEFAULT_LABELS = ("idle", "wave", "punch", "flex", "circle")
CLOSED_LINK_MESSAGE = (
    "The board connection was closed; re-run the cell that opens it "
    "(link = open_link(PORT)), then the cells that make the recorder and this panel."
)
# What a unit measures, for the axis titles.
_QUANTITY = {"g": "acceleration", "m/s2": "acceleration", "dps": "angular rate", "uT": "field"}
_PLACEHOLDER = (
    "<div style='width:620px;height:60px;display:flex;align-items:center;"
    "justify-content:center;border:1px dashed #bbb;color:#666'>"
    "The live plot of the signal appears here when you press <b>&nbsp;Start</b>.</div>"
)


class CapturePanel:
    """Record labelled sessions from a notebook: label picker, start/stop, live plot, counters.

    Display it by leaving it as the last expression of a cell, or with ``display(panel)``.

    Args:
        recorder: The recorder to drive; the panel only observes it.
        labels: Labels to offer; more can be typed in the "New label" box.
        seconds: Initial session length in seconds (the slider).
        plot_samples: How many of the latest samples the live plot shows.
        plot_hz: Highest redraw rate of the live plot.

    Attributes:
        plot: The live plot (a PNG ``Image``), hidden until the first frame.
        placeholder: What stands in the plot's place before the first recording.
        label_hint: Why the typed new label is not valid (empty while it is).

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
        self._layout_key: tuple[Any, ...] = ()
        self._lines: list[Any] = []
        self._make_widgets(labels, seconds)
        self.add_label.on_click(self._on_add_label)
        self.new_label.on_submit(self._on_add_label)
        self.new_label.observe(self._on_label_typed, names="value")
        self.start_button.on_click(self._on_start)
        self.stop_button.on_click(self._on_stop)
        self._subscription = recorder.subscribe(self._on_update)
        self._show_counters()
        self._show_sessions()

    def _make_widgets(self, labels: list[str], seconds: float) -> None:
        self.label = widgets.Dropdown(options=labels, value=labels[0], description="Label")
        self.new_label = widgets.Text(placeholder="new label", description="New label")
        self.add_label = widgets.Button(description="Add", tooltip="Add the new label")
        self.label_hint = widgets.HTML()
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
        self.placeholder = widgets.HTML(_PLACEHOLDER)
        # Hidden until there is a frame: an Image without one shows a broken-image icon.
        self.plot = widgets.Image(
            format="png", layout=widgets.Layout(width="640px", display="none")
        )
        self.session_list = widgets.HTML()
        where = html.escape(str(self.recorder.folder))
        self.widget = widgets.VBox(
            [
                widgets.HTML(f"<b>Capture</b> into <code>{where}</code>"),
                widgets.HBox([self.label, self.new_label, self.add_label, self.label_hint]),
                widgets.HBox([self.seconds, self.start_button, self.stop_button]),
                self.counters,
                self.placeholder,
                self.plot,
                self.status,
                self.session_list,
            ]
        )

    # -- display ------------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop observing the recorder and close the widgets."""
        self.recorder.unsubscribe(self._subscription)
        _close(self.widget)

    # -- handlers -----------------------------------------------------------------------------

    def _label_problem(self, text: str) -> str | None:
        try:
            validate_name(text, "label")
        except CaptureError as exc:
            return str(exc)
        return None

    def _on_label_typed(self, change: dict[str, Any]) -> None:
        text = change["new"].strip()
        problem = self._label_problem(text) if text else None
        self.add_label.disabled = problem is not None
        self.new_label.style.background = "#fde8ea" if problem else None
        self.label_hint.value = (
            f"<span style='color:#b00020'>⚠ {html.escape(_first_sentence(problem))}</span>"
            if problem
            else ""
        )

    def _on_add_label(self, _: Any = None) -> None:
        text = self.new_label.value.strip()
        problem = self._label_problem(text)
        if problem is not None:
            self._error(problem)  # the field stays highlighted, with the reason beside it
            return
        label = validate_name(text, "label")
        if label not in self.label.options:
            self.label.options = [*self.label.options, label]
        self.label.value = label
        self.new_label.value = ""
        self._info(f"Label {label!r} added.")

    def _on_start(self, _: Any = None) -> None:
        label = self.label.value
        link = self.recorder.link
        if link.error is None and not link.alive:  # closed by a later cell, not unplugged
            self._error(CLOSED_LINK_MESSAGE)
            return
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
            self.plot.value = self._render(values, self.recorder.fields, self._units())
            if self.plot.layout.display == "none":
                self.plot.layout.display = None
                self.placeholder.layout.display = "none"

    def _units(self) -> tuple[str, ...]:
        hello = self.recorder.hello
        return tuple(hello.units) if hello is not None else ()

    def _render(self, values: Any, fields: Sequence[str], units: Sequence[str] = ()) -> bytes:
        """Draw the latest samples, one axes per unit, and return the PNG bytes."""
        width = values.shape[1]
        names = [*fields[:width], *(f"v{i}" for i in range(len(fields), width))]
        unit_of = list(units) if len(units) == len(names) else [""] * width
        groups = _group_by_unit(unit_of)
        key = (tuple(names), tuple(unit_of))
        if self._figure is None or key != self._layout_key:
            self._layout_key = key
            self._build_figure(names, unit_of, groups)
        axes = self._figure.axes
        x = range(len(values))
        for column, line in enumerate(self._lines):
            line.set_data(x, values[:, column])
        for ax, (_, columns) in zip(axes, groups, strict=True):
            part = values[:, columns]
            low, high = float(part.min()), float(part.max())
            pad = 0.08 * (high - low) or 1.0
            ax.set_xlim(0, max(self.plot_samples, 1))
            ax.set_ylim(low - pad, high + pad)
        axes[0].set_title(f"{self.recorder.label}: last {len(values)} samples", fontsize="small")
        buffer = io.BytesIO()
        self._figure.canvas.print_png(buffer)
        return buffer.getvalue()

    def _build_figure(
        self, names: list[str], units: list[str], groups: list[tuple[str, list[int]]]
    ) -> None:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # A fixed layout and no antialiasing keep a frame at a few tens of milliseconds.
        rows = len(groups)
        self._figure = Figure(figsize=(8.0, 1.1 + 1.5 * rows), dpi=80)
        self._figure.subplots_adjust(left=0.1, right=0.86, top=0.9, bottom=0.3 / rows, hspace=0.2)
        FigureCanvasAgg(self._figure)
        axes = self._figure.subplots(rows, 1, sharex=True, squeeze=False)[:, 0]
        self._lines = [None] * len(names)
        for ax, (unit, columns) in zip(axes, groups, strict=True):
            for column in columns:
                (line,) = ax.plot([], [], lw=1, antialiased=False, label=names[column])
                self._lines[column] = line
            quantity = _QUANTITY.get(unit, "value")
            ax.set_ylabel(f"{quantity} ({unit})" if unit else quantity, fontsize="small")
            ax.tick_params(labelsize="small")
            ax.grid(True, lw=0.3)
            # Beside the axes, never over the signal.
            ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="small", frameon=False)
        axes[-1].set_xlabel("sample", fontsize="small")


def _group_by_unit(units: Sequence[str]) -> list[tuple[str, list[int]]]:
    """Columns grouped by unit, in order of first appearance: ``[("g", [0, 1, 2]), …]``."""
    groups: dict[str, list[int]] = {}
    for column, unit in enumerate(units):
        groups.setdefault(unit, []).append(column)
    return list(groups.items())


def _first_sentence(text: str) -> str:
    head, dot, _ = text.partition(". ")
    return head + ("." if dot else "")


def _close(widget: widgets.Widget) -> None:
    for child in getattr(widget, "children", ()):
        _close(child)
    widget.close()
