"""``LiveView``: an ipywidgets view over a :class:`~tinybench.live.session.LiveSession`.

The view owns no thread and no logic. It registers itself as an observer of the session, whose
notifier thread calls it at most ``notify_hz`` times a second (20 by default) when there is
something new; the view then sets widget values, which ipykernel sends to the browser from any
thread. The kernel is never blocked, even while a cell waits in ``session.run_for()``.

When the board is the virtual board (its hello says ``virtual=1`` and lists the gestures it can
perform), the view also offers a gesture selector: choosing a gesture sends the board's
``g <gesture>`` command, so a student without a board sees the predictions change.
"""

from __future__ import annotations

import html
import threading
from typing import Any

import ipywidgets as widgets

from tinybench.errors import TinybenchError
from tinybench.live import LiveSession, LiveUpdate

__all__ = ["CLOSED_LINK_MESSAGE", "LiveView"]

CLOSED_LINK_MESSAGE = (
    "The board connection was closed; re-run the cell that opens it "
    "(link = open_link(PORT)), then the cells that make the session and this view."
)

# matplotlib's tab10, so a label has the same colour here as in tinybench's plots.
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


class LiveView:
    """Live predictions: a bar per label, the top label, latency, rate and a history strip.

    Display it by leaving it as the last expression of a cell, or with ``display(view)``.

    Args:
        session: The live session to show; the view only observes it.
        strip: How many of the latest top labels the history strip shows.

    Attributes:
        session: The observed session.
        renders: How many times the view has applied the session's state.
        top: The big top-label display.
        bars: One ``FloatProgress`` per label, in label order (built once labels are known).
        percents: The percentage text next to each bar.
        stats: Device latency, prediction rate, lost predictions and sequence number.
        strip: The history strip of recent top labels.
        status: Session state and errors.
        start_button: Starts the session without blocking the kernel (``session.start()``), so
            the gesture selector is answered at once; a cell waiting in ``run_for()`` holds
            the kernel, and the selector's clicks wait for it.
        stop_button: Stops the session (``session.stop()``).
        gesture: On the virtual board, the gesture selector (``ToggleButtons``); else ``None``.
        widget: The whole view, a ``VBox``.
    """

    def __init__(self, session: LiveSession, *, strip: int = 30) -> None:
        self.session = session
        self.renders = 0
        self._strip_length = strip
        self._lock = threading.Lock()
        self._labels: tuple[str, ...] = ()
        self.top = widgets.HTML()
        self.bars: list[widgets.FloatProgress] = []
        self.percents: list[widgets.Label] = []
        self._bar_box = widgets.VBox()
        self.stats = widgets.HTML()
        self.strip = widgets.HTML()
        self.status = widgets.HTML()
        self.start_button = widgets.Button(
            description="Watch", icon="play", button_style="success", tooltip="session.start()"
        )
        self.stop_button = widgets.Button(
            description="Stop", icon="stop", button_style="danger", tooltip="session.stop()"
        )
        self.start_button.on_click(self._on_start)
        self.stop_button.on_click(self._on_stop)
        self.gesture: widgets.ToggleButtons | None = None
        self._action_error = ""
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.start_button, self.stop_button]),
                self.top,
                self._bar_box,
                self.stats,
                self.strip,
                self.status,
            ],
            layout=widgets.Layout(width="640px"),
        )
        self.refresh()
        self._subscription = session.subscribe(self._on_update)

    # -- display --------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Stop observing the session and close the widgets."""
        self.session.unsubscribe(self._subscription)
        for child in (*self.bars, *self.percents, *self._bar_box.children):
            child.close()
        for child in (self.top, self._bar_box, self.stats, self.strip, self.status):
            child.close()
        self.start_button.close()
        self.stop_button.close()
        if self.gesture is not None:
            self.gesture.close()
        self.widget.close()

    # -- updating -------------------------------------------------------------------------

    def _on_update(self, session: LiveSession) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Show the session's current state. Called by the session's notifier thread."""
        session = self.session
        with self._lock:
            if session.labels != self._labels:
                self._build_bars(session.labels)
            if self.gesture is None:
                self._build_gesture_selector()
            latest = session.latest
            if latest is not None:
                self._show(latest, session.recent(self._strip_length))
            self.status.value = self._status_html()
            self.start_button.disabled = session.running
            self.stop_button.disabled = not session.running
            self.renders += 1

    def _build_bars(self, labels: tuple[str, ...]) -> None:
        self._labels = labels
        rows, self.bars, self.percents = [], [], []
        for index, label in enumerate(labels):
            bar = widgets.FloatProgress(
                value=0.0,
                min=0.0,
                max=1.0,
                description=label,
                style={"bar_color": _colour(index), "description_width": "90px"},
                layout=widgets.Layout(width="400px"),
            )
            percent = widgets.Label("–", layout=widgets.Layout(width="70px"))
            self.bars.append(bar)
            self.percents.append(percent)
            rows.append(widgets.HBox([bar, percent]))
        self._bar_box.children = rows

    def _build_gesture_selector(self) -> None:
        """On the virtual board, offer the gestures its hello lists (``gestures=idle,wave,…``)."""
        hello = self.session.link.hello
        if hello is None or not hello.virtual:
            return
        gestures = [g for g in hello.extra.get("gestures", "").split(",") if g]
        if not gestures:
            return
        self.gesture = widgets.ToggleButtons(
            options=gestures,
            value=None,
            description="Perform",
            tooltips=[f"tell the virtual board to perform {g!r} (g {g})" for g in gestures],
            style={"button_width": "72px", "description_width": "60px"},
        )
        self.gesture.observe(self._on_gesture, names="value")
        caption = widgets.HTML(
            "<span style='font-size:0.85em;color:#555'>The virtual board performs the gesture "
            "you choose. Press <b>Watch</b> first: while a cell runs, clicks wait for it.</span>"
        )
        self.widget.children = (*self.widget.children[:-1], caption, self.gesture, self.status)

    def _on_gesture(self, change: dict[str, Any]) -> None:
        gesture = change["new"]
        if gesture is not None:
            self._act(lambda: self.session.link.send("g", gesture.encode("ascii")))

    def _on_start(self, _: Any = None) -> None:
        self._act(self.session.start)

    def _on_stop(self, _: Any = None) -> None:
        self._act(self.session.stop)

    def _act(self, action: Any) -> None:
        """Run a button's action on the session; show why it failed instead of raising."""
        link = self.session.link
        if link.error is None and not link.alive:  # closed by a later cell, not unplugged
            self._action_error = CLOSED_LINK_MESSAGE
        else:
            try:
                action()
            except TinybenchError as exc:
                self._action_error = str(exc)
            else:
                self._action_error = ""
        self.refresh()

    def _show(self, latest: LiveUpdate, recent: list[LiveUpdate]) -> None:
        colour = _colour(self._labels.index(latest.top_label))
        self.top.value = (
            f'<div class="tb-live-top" style="font-size:2.4em;font-weight:bold;color:{colour}">'
            f"{html.escape(latest.top_label)}</div>"
            f"<div>score {latest.top_score:.2f}</div>"
        )
        for bar, percent, score in zip(
            self.bars, self.percents, latest.scores.values(), strict=True
        ):
            bar.value = min(max(score, 0.0), 1.0)
            percent.value = f"{100 * score:5.1f} %"
        hello = self.session.link.hello
        latency = (
            "Invoke time (host TFLM, virtual board)"
            if hello and hello.virtual
            else "on-device latency"
        )
        # One line at the default notebook width: it never wraps, it is short enough to fit.
        self.stats.value = (
            f'<div class="tb-live-stats" data-seq="{latest.seq}" '
            f'style="white-space:nowrap;font-size:0.95em">'
            f"{latency} <b>{latest.latency_us / 1000:.2f} ms</b> · "
            f"<b>{latest.rate_hz:.1f}</b> predictions/s · {latest.lost} lost · "
            f"seq {latest.seq}</div>"
        )
        cells = "".join(
            f'<span title="{html.escape(u.top_label)} {u.top_score:.2f} (seq {u.seq})" '
            f'style="display:inline-block;width:12px;height:18px;margin-right:1px;'
            f'background:{_colour(self._labels.index(u.top_label))}"></span>'
            for u in recent
        )
        legend = " ".join(
            f'<span style="color:{_colour(i)}">■ {html.escape(label)}</span>'
            for i, label in enumerate(self._labels)
        )
        self.strip.value = f"<div>{cells}</div><div style='font-size:0.85em'>{legend}</div>"

    def _status_html(self) -> str:
        session = self.session
        parts = []
        if session.running:
            parts.append(f"running on {html.escape(session.link.url)}")
        else:
            parts.append("stopped" if session.count else "not started")
        if session.latest is None and session.running:
            parts.append("waiting for the first prediction…")
        text = " · ".join(parts)
        if session.device_errors:
            text += (
                f'<div style="color:#b35900">board says: '
                f"{html.escape(session.device_errors[-1])}</div>"
            )
        if self._action_error:
            text += f'<div style="color:#c00">⚠ {html.escape(self._action_error)}</div>'
        if session.error is not None:
            text += f'<div style="color:#c00"><b>{html.escape(str(session.error))}</b></div>'
        return text

    def __repr__(self) -> str:
        return f"<LiveView of {self.session!r}, {self.renders} renders>"


def _colour(index: int) -> str:
    return _PALETTE[index % len(_PALETTE)]
