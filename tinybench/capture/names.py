"""Names that come from users and devices, made safe before they become files or columns.

Labels, dataset and session names become folder and file names under ``data/``, so
:func:`validate_name` refuses anything that could escape its folder or break on another OS.

Field names come from the device (its hello, or a CSV header line), so they are data, never
structure: :func:`safe_field_names` renames any that are not plain identifiers or that clash
with the columns tinybench adds (``seq``, ``t_us``, ``session``, ``label``). The rule, also in
``docs/data-format.md``:

1. every character other than ASCII letters, digits and ``_`` becomes ``_``;
2. a name that is then empty, or does not start with a letter or ``_``, gets the prefix ``f_``;
3. a name equal (ignoring case) to a tinybench column or to an earlier field gets the suffix
   ``_<position>`` (its 0-based index), and ``_`` more until it is unique.

So a name can never start with ``=``, ``+``, ``-`` or ``@``, and a spreadsheet opening the CSV
never runs it as a formula. The device's own names are kept in the sidecar (``device_fields``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

from tinybench.errors import LabelError

__all__ = ["MAX_NAME_LENGTH", "RESERVED_COLUMNS", "safe_field_names", "validate_name"]

MAX_NAME_LENGTH = 64
RESERVED_COLUMNS = ("seq", "t_us", "session", "label")
_NAME = re.compile(r"^[A-Za-z0-9_-](?:[A-Za-z0-9_.-]*[A-Za-z0-9_-])?$")
_WINDOWS_DEVICES = {"con", "prn", "aux", "nul"} | {
    f"{p}{i}" for p in ("com", "lpt") for i in "123456789"
}
_ALLOWED = (
    "letters, digits, '_' and '-' (and '.' between them), at most "
    f"{MAX_NAME_LENGTH} characters, for example 'wave' or 'left_hand-2'"
)
_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_]")


def validate_name(name: object, what: str = "label") -> str:
    """Return ``name`` if it is safe as a folder or file name under ``data/``.

    Args:
        name: The label, dataset or session name to check.
        what: What the name is, for the error message (``label``, ``dataset``, ``session``).

    Raises:
        LabelError: The name is empty, too long, absolute, contains ``..``, a path separator,
            a control character, a leading dot or any character other than letters, digits,
            ``_``, ``-`` and inner dots, or is a reserved device name on Windows.
    """
    if not isinstance(name, str):
        problem = f"is a {type(name).__name__}, not text"
    elif not name:
        problem = "is empty"
    elif len(name) > MAX_NAME_LENGTH:
        problem = f"is {len(name)} characters long"
    elif any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        problem = "contains control characters"
    elif "/" in name or "\\" in name or os.path.isabs(name):
        problem = "contains a path separator, so it would escape its folder"
    elif ".." in name:
        problem = "contains '..', so it could escape its folder"
    elif name.startswith("."):
        problem = "starts with a dot, which would make it hidden"
    elif not _NAME.match(name):
        problem = "contains characters other than letters, digits, '_', '-' and inner dots"
    elif name.split(".")[0].lower() in _WINDOWS_DEVICES:
        problem = "is a reserved device name on Windows"
    else:
        return name
    raise LabelError(f"Invalid {what} {name!r}: it {problem}. Use {_ALLOWED}.")


def safe_field_names(names: Sequence[str]) -> tuple[str, ...]:
    """Return the device's field names made safe as CSV columns (the rule in the module doc).

    Names that are already safe identifiers and unique come back unchanged, so
    ``safe_field_names(names) == tuple(names)`` tells whether anything was renamed.
    """
    taken = {column.lower() for column in RESERVED_COLUMNS}
    out: list[str] = []
    for index, raw in enumerate(names):
        name = _NOT_IDENTIFIER.sub("_", str(raw))[:MAX_NAME_LENGTH]
        if not name or not (name[0].isalpha() or name[0] == "_"):
            name = f"f_{name}"
        if name.lower() in taken:
            name = f"{name}_{index}"
        while name.lower() in taken:
            name += "_"
        taken.add(name.lower())
        out.append(name)
    return tuple(out)
