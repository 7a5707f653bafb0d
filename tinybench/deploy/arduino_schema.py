"""Reading arduino-cli's JSON by its schema: every field checked, a bad one named in the error.

arduino-cli's JSON is another program's output, so tinybench reads it like user input. A
:class:`JsonFields` reader is bound to one finished command; each getter takes an object, a key
and the type the documented schema gives it, and returns the value, or ``None`` when the key is
absent (arduino-cli omits empty fields). A value of the wrong type raises the reader's error
class (:class:`~tinybench.errors.CompileError` for a compile, else
:class:`~tinybench.errors.ArduinoCliError`) naming the field by its path, e.g.
``builder_result.used_libraries[0].name``, with the value, the expected type and the saved log.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tinybench.deploy.arduino_process import CliRun, cli_error
from tinybench.errors import ArduinoCliError

__all__ = ["JsonFields"]

_KINDS = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "a whole number",
    bool: "true or false",
}


@dataclass(frozen=True)
class JsonFields:
    """Typed access to the JSON of one arduino-cli command.

    Attributes:
        run: The finished command.
        error: The error class raised for a field of the wrong type.
    """

    run: CliRun
    error: type[ArduinoCliError] = ArduinoCliError

    def get(self, node: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
        """Return ``node[key]`` if it is of ``kind``, ``None`` if absent; raise otherwise."""
        value = node.get(key)
        if value is None:
            return None
        wrong = isinstance(value, bool) and kind is not bool
        if wrong or not isinstance(value, kind):
            raise self.bad(f"{where}{key}", value, _KINDS.get(kind, kind.__name__))
        return value

    def need(self, node: dict[str, Any], key: str, kind: type, where: str = "") -> Any:
        """Like :meth:`get`, but an absent field is an error too."""
        value = self.get(node, key, kind, where)
        if value is None:
            raise self.bad(f"{where}{key}", None, _KINDS.get(kind, kind.__name__))
        return value

    def objects(self, node: dict[str, Any], key: str, where: str = "") -> list[tuple[str, dict]]:
        """Return ``(path, object)`` for each item of the list ``node[key]`` (none if absent)."""
        items = self.get(node, key, list, where) or []
        found = []
        for index, item in enumerate(items):
            path = f"{where}{key}[{index}]"
            if not isinstance(item, dict):
                raise self.bad(path, item, _KINDS[dict])
            found.append((f"{path}.", item))
        return found

    def object(self, node: dict[str, Any], key: str, where: str = "") -> tuple[str, dict]:
        """Return ``(path, object)`` for ``node[key]``; an absent object reads as empty."""
        return f"{where}{key}.", self.get(node, key, dict, where) or {}

    def bad(self, path: str, value: Any, expected: str) -> ArduinoCliError:
        """Return the error for field ``path`` holding ``value`` instead of ``expected``."""
        shown = repr(value)
        shown = shown if len(shown) <= 80 else f"{shown[:77]}…"
        got = "missing" if value is None else f"{shown} ({type(value).__name__})"
        return cli_error(
            self.error,
            f"arduino-cli's `{self.run.command}` output does not match its documented JSON: "
            f"{path} is {got}, expected {expected}. Check that {self.run.argv[0]} is "
            "arduino-cli 1.x (`arduino-cli version`), and report the log below if it is.",
            self.run,
        )
