"""Driving one JupyterLab tab with Playwright: open a notebook, Run All, wait, read the cells.

Cells scrolled out of view (JupyterLab's default ``contentVisibility`` windowing) have an empty
``innerText``, so everything here reads ``textContent``. Cells are matched to the notebook
file by position: the DOM holds every cell, in order.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
KERNEL_NAME = "Python (tinybench)"
VIEWPORT = {"width": 1280, "height": 800}

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"
ERROR_MIME = "application/vnd.jupyter.error"
STDERR_MIME = "application/vnd.jupyter.stderr"

# One record per cell: what a student sees in it.
_READ_CELLS = """
(panel) => {
  const root = document.querySelector(panel);
  if (!root) return [];
  return [...root.querySelectorAll('.jp-Notebook .jp-Cell')].map((cell) => {
    const prompt = cell.querySelector('.jp-InputArea .jp-InputPrompt');
    const outputs = [...cell.querySelectorAll('.jp-OutputArea-output')].map((o) => ({
      mime: o.getAttribute('data-mime-type') || '',
      text: (o.textContent || '').slice(-8000),
    }));
    const errors = [...cell.querySelectorAll('.jp-RenderedText[data-mime-type]')]
      .filter((e) => e.getAttribute('data-mime-type').includes('error'))
      .map((e) => (e.textContent || '').slice(-8000));
    return {
      code: cell.classList.contains('jp-CodeCell'),
      prompt: prompt ? (prompt.textContent || '').trim() : '',
      outputs,
      errors,
      images: cell.querySelectorAll('.jp-OutputArea-output img').length,
      widgets: cell.querySelectorAll('.jp-OutputArea-output .jupyter-widgets').length,
      text: (cell.querySelector('.jp-Cell-outputWrapper')?.textContent || '').slice(0, 20000),
    };
  });
}
"""

_IDLE = """
(panel) => {
  const root = document.querySelector(panel);
  if (!root) return false;
  const status = root.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!status || status.getAttribute('data-status') !== 'idle') return false;
  const prompts = [...root.querySelectorAll('.jp-CodeCell .jp-InputArea .jp-InputPrompt')];
  return prompts.every((p) => !(p.textContent || '').includes('*'));
}
"""

# The status bar says "<kernel> | Idle" once a kernel is connected and idle.
_READY = r"""
(panel) => {
  const items = [...document.querySelectorAll('.jp-StatusBar-TextItem')];
  return items.some((e) => /\|\s*Idle/.test(e.textContent || ''));
}
"""

_STARTED = """
(panel) => {
  const root = document.querySelector(panel);
  const selector = '.jp-CodeCell .jp-InputArea .jp-InputPrompt';
  const prompts = root ? [...root.querySelectorAll(selector)] : [];
  return prompts.some((p) => /[*0-9]/.test(p.textContent || ''));
}
"""


@dataclass
class CellView:
    """What one cell shows in the browser."""

    index: int
    code: bool
    prompt: str
    outputs: list[dict[str, str]]
    errors: list[str]
    images: int
    widgets: int
    text: str
    source: str = ""

    @property
    def executed(self) -> bool:
        """True when the prompt shows an execution count, ``[3]:``."""
        return any(ch.isdigit() for ch in self.prompt)

    def problems(self) -> list[str]:
        """Error outputs, tracebacks on stderr and widgets that failed to display."""
        found = [f"error output: {_ends(text)}" for text in self.errors]
        for output in self.outputs:
            if output["mime"] == ERROR_MIME and not self.errors:
                found.append(f"error output: {_ends(output['text'])}")
            if output["mime"] == STDERR_MIME and "Traceback" in output["text"]:
                found.append(f"traceback on stderr: {_ends(output['text'])}")
        if "Error displaying widget" in self.text:
            found.append("Error displaying widget")
        return [f"cell {self.index}: {p}" for p in found]


def _ends(text: str, head: int = 200, tail: int = 1000) -> str:
    """The start and the end of a long text: a traceback's last lines say what went wrong."""
    return text if len(text) <= head + tail else f"{text[:head]} […] {text[-tail:]}"


@dataclass
class LabPage:
    """One browser tab on the lab, with console errors collected from the start.

    Attributes:
        page: The Playwright page.
        console_errors: ``console.error`` messages and uncaught page errors, in order.
    """

    page: Any
    console_errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda exc: self.console_errors.append(f"page error: {exc}"))

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(f"console.error: {message.text}")

    # -- notebooks ------------------------------------------------------------------------

    def open(self, url: str, timeout: float = 60.0) -> None:
        """Open a notebook URL and wait until its kernel is idle (choosing it if asked)."""
        self.page.goto(url, wait_until="domcontentloaded")
        self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").first.wait_for(timeout=timeout * 1000)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._choose_kernel_if_asked():
                continue
            if self.page.evaluate(_READY, PANEL):
                return
            self.page.wait_for_timeout(250)
        raise TimeoutError(f"the notebook at {url} did not reach an idle kernel in {timeout} s")

    def _choose_kernel_if_asked(self) -> bool:
        dialog = self.page.locator(".jp-Dialog")
        if not dialog.count() or "Select Kernel" not in (dialog.first.text_content() or ""):
            return False
        select = dialog.locator("select")
        if select.count():
            select.first.select_option(label=KERNEL_NAME)
        dialog.locator("button.jp-mod-accept").click()
        return True

    def command(self, menu: str, command_id: str, attempts: int = 20) -> None:
        """Run a JupyterLab command from the menu bar, as a student would click it."""
        item = self.page.locator(f'.lm-Menu-item[data-command="{command_id}"]').first
        for _ in range(attempts):
            self.page.locator(".lm-MenuBar-itemLabel", has_text=menu).first.click()
            item.wait_for()
            if "lm-mod-disabled" not in (item.get_attribute("class") or ""):
                item.click()
                return
            self.page.keyboard.press("Escape")  # not enabled yet: the notebook is still loading
            self.page.wait_for_timeout(500)
        raise TimeoutError(f"the menu item {menu} ▸ {command_id} stayed disabled")

    def run_all(self, timeout: float) -> float:
        """Run ▸ Run All Cells, choose the kernel if asked, wait; return the seconds it took."""
        start = time.monotonic()
        self.command("Run", "runmenu:run-all")
        # Until the kernel is chosen and the first cell queued, "idle" means nothing yet.
        while not self.page.evaluate(_STARTED, PANEL):
            if not self._choose_kernel_if_asked():
                self.page.wait_for_timeout(100)
            if time.monotonic() - start > 60:
                raise TimeoutError("Run All did not start a cell within 60 s")
        self.wait_idle(timeout - (time.monotonic() - start))
        return time.monotonic() - start

    def wait_idle(self, timeout: float, poll_ms: int = 500) -> float:
        """Wait until the kernel is idle and no cell is queued; return the seconds waited."""
        start = time.monotonic()
        while not self.page.evaluate(_IDLE, PANEL):
            self._choose_kernel_if_asked()
            if time.monotonic() - start > timeout:
                raise TimeoutError(f"the notebook was still running after {timeout} s")
            self.page.wait_for_timeout(poll_ms)
        return time.monotonic() - start

    def cells(self, sources: list[str] | None = None) -> list[CellView]:
        """Read every cell of the open notebook; ``sources`` (from the file) are attached."""
        raw = self.page.evaluate(_READ_CELLS, PANEL)
        views = [CellView(index=i, **cell) for i, cell in enumerate(raw)]
        if sources is not None:
            if len(sources) != len(views):
                raise AssertionError(f"the file has {len(sources)} cells, the page {len(views)}")
            for view, source in zip(views, sources, strict=True):
                view.source = source
        return views

    def cell(self, index: int) -> Any:
        """The locator of cell ``index`` of the open notebook."""
        return self.page.locator(f"{PANEL} .jp-Notebook .jp-Cell").nth(index)

    def run_cell(self, index: int, timeout: float = 60.0) -> None:
        """Select cell ``index`` and press Shift+Enter, then wait for the kernel."""
        cell = self.cell(index)
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").first.click()
        self.page.keyboard.press("Escape")  # command mode: Shift+Enter runs, not types
        self.page.keyboard.press("Shift+Enter")
        self.page.wait_for_timeout(200)
        self.wait_idle(timeout, poll_ms=200)

    def screenshot(self, path: Path, max_height: int = 12000) -> Path:
        """Save the whole notebook: the viewport is stretched to the notebook's height."""
        path.parent.mkdir(parents=True, exist_ok=True)
        height = self.page.evaluate(
            """(panel) => {
                const outer = document.querySelector(panel + ' .jp-WindowedPanel-outer');
                if (outer) outer.scrollTop = 0;
                return outer ? outer.scrollHeight : 0;
            }""",
            PANEL,
        )
        tall = min(max(VIEWPORT["height"], int(height) + 200), max_height)
        self.page.set_viewport_size({"width": VIEWPORT["width"], "height": tall})
        try:
            self.page.wait_for_timeout(400)
            self.page.screenshot(path=str(path))
        finally:
            self.page.set_viewport_size(VIEWPORT)
        return path


def launch_chromium(playwright: Any) -> Any:
    """Debian's chromium, headless, driven by PyPI's playwright (no ``playwright install``)."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=["--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"],
    )
