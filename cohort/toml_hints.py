"""``program.toml`` values and mistakes: type checks, bounds, and how to write a value right.

TOML parsers keep no line numbers, so lines are found in the text (best effort). Every message
names the key as ``section.key`` and says how to write the value, e.g. for
``start = "2027-02-01"``: "write dates without quotes: start = 2027-02-01".
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, get_args, get_origin

from cohort import limits
from cohort.text import has_controls


def line_of(lines: list[str], section: str, key: str | None) -> int:
    """The line of ``[section]``, or of ``key`` inside it (top-level keys: ``section`` empty);
    0 when it is not there."""
    in_section = section == ""
    for number, text in enumerate(lines, start=1):
        stripped = text.strip()
        if stripped.startswith("["):
            in_section = stripped.strip("[] ").split("#")[0].strip() == section
            if in_section and key is None:
                return number
            continue
        if in_section and key is not None and re.match(rf"{re.escape(key)}\s*=", stripped):
            return number
    return 0


def key_at(lines: list[str], line: int) -> str | None:
    """The ``section.key`` (or ``section``, on a table header) that line ``line`` belongs to."""
    section = ""
    for text in lines[: max(0, line - 1)]:
        stripped = text.strip()
        if stripped.startswith("[") and not stripped.startswith("[["):
            section = stripped.strip("[] ").split("#")[0].strip().strip("[] ")
    current = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    if current.startswith("["):
        return current.strip("[] ").split("#")[0].strip().strip("[] ") or None
    key = current.partition("=")[0].strip()
    if not key:
        return section or None
    return f"{section}.{key}" if section else key


def type_name(tp: Any) -> str:
    """How to describe a value of type ``tp`` to a coordinator."""
    origin = get_origin(tp)
    if origin is list:
        (inner,) = get_args(tp)
        return f"a list of {type_name(inner)}s"
    if tp is date:
        return "a date like 2027-02-01"
    if tp is bool:
        return "true or false"
    if tp is int:
        return "a whole number"
    if tp is float:
        return "a number"
    if tp is str:
        return "a quoted string"
    args = [a for a in get_args(tp) if a is not type(None)]
    if args:
        return type_name(args[0])
    return str(tp)


def has_type(value: Any, tp: Any) -> bool:
    """Whether the parsed TOML ``value`` is of the setting's type ``tp``."""
    origin = get_origin(tp)
    if origin is list:
        (inner,) = get_args(tp)
        return isinstance(value, list) and all(has_type(v, inner) for v in value)
    if tp is bool:
        return isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is date:
        return isinstance(value, date) and not hasattr(value, "hour")
    if tp is str:
        return isinstance(value, str)
    args = get_args(tp)
    if args:  # Optional[X]
        return any(has_type(value, a) for a in args if a is not type(None))
    return isinstance(value, tp)


def bound_problem(value: Any, meta: Any) -> tuple[str, str] | None:
    """What is out of bounds in a value of the right type: numbers SQLite and the solvers cannot
    hold, dates at the ends of the calendar, text too long or with control characters."""
    items = value if isinstance(value, list) else [value]
    flat = [x for item in items for x in (item if isinstance(item, list) else [item])]
    for item in flat:
        if isinstance(item, float) and item != item or item in (float("inf"), float("-inf")):
            return f"{item} is not a number", "a finite number"
        if (
            isinstance(item, int)
            and not isinstance(item, bool)
            and "max" not in meta
            and abs(item) > limits.MAX_SETTING_INTEGER
        ):
            return f"{item} is too large", f"at most {limits.MAX_SETTING_INTEGER:,}"
        if isinstance(item, date) and not limits.MIN_DATE <= item <= limits.MAX_DATE:
            return f"{item} is too far from today", f"a date between {limits.MIN_DATE} and {limits.MAX_DATE}"
        if isinstance(item, str):
            if len(item) > limits.MAX_CELL_CHARS:
                return f"the text has {len(item):,} characters", f"at most {limits.MAX_CELL_CHARS:,}"
            if has_controls(item):
                return "the text holds control characters", "remove the \\u escapes of control characters"
    if isinstance(value, list) and len(value) > limits.MAX_ROWS:
        return f"{len(value):,} items", f"at most {limits.MAX_ROWS:,}"
    return None


def _is_date_text(value: Any) -> bool:
    try:
        date.fromisoformat(value.strip())
    except (AttributeError, ValueError):
        return False
    return len(value.strip()) == 10


def _is_number_text(value: Any) -> bool:
    try:
        float(str(value).replace("_", ""))
    except ValueError:
        return False
    return isinstance(value, str)


def _shown(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else _toml_text(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _toml_text(value: Any) -> str:
    """``value`` written as TOML, for an example (text in quotes, dates bare)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date | int | float):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_text(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def type_problem(key: str, value: Any, tp: Any) -> tuple[str, str]:
    """``(message, hint)`` for ``key = value`` that is not of type ``tp``: what it is, and how
    to write it (``write dates without quotes: start = 2027-02-01``)."""
    inner = [a for a in get_args(tp) if a is not type(None)] if get_origin(tp) is not list else []
    want = inner[0] if len(inner) == 1 else tp
    item = get_args(want)[0] if get_origin(want) is list else None
    if want is date and _is_date_text(value):
        return f"{_shown(value)} is text, not a date", f"write dates without quotes: {key} = {value.strip()}"
    if want is date and isinstance(value, datetime):
        return f"{value} has a time of day", f"write the date alone: {key} = {value.date().isoformat()}"
    if want is date and isinstance(value, str):
        return (
            f"{_shown(value)} is text, not a date",
            f"write a date as YYYY-MM-DD without quotes: {key} = 2027-02-01",
        )
    if (
        item is date
        and isinstance(value, list)
        and all(_is_date_text(v) or isinstance(v, date) for v in value)
    ):
        bare = ", ".join(v.strip() if isinstance(v, str) else v.isoformat() for v in value)
        return "the dates are text", f"write dates without quotes: {key} = [{bare}]"
    if item is not None and not isinstance(value, list):
        return f"{_shown(value)} is not a list", f"write a list in brackets: {key} = [{_toml_text(value)}]"
    if want in (int, float) and _is_number_text(value):
        return (
            f"{_shown(value)} is text, not a number",
            f"write numbers without quotes: {key} = {value.strip()}",
        )
    if want is int and isinstance(value, float):
        return f"{value} is not a whole number", f"write a whole number: {key} = {round(value)}"
    if want is bool and isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
        word = "true" if value.strip().lower() in ("true", "yes") else "false"
        return f"{_shown(value)} is text", f"write true or false without quotes: {key} = {word}"
    if want is bool and isinstance(value, int) and value in (0, 1):
        return f"{value} is a number", f"write true or false: {key} = {'true' if value else 'false'}"
    if want is str and not isinstance(value, str | list | dict):
        return (
            f"{_toml_text(value)} is not text",
            f'write text in quotes: {key} = "{_toml_text(value).strip(chr(34))}"',
        )
    return f"wrong type {type(value).__name__} {_shown(value)}", f"expected {type_name(tp)}"


def decode_hint(message: str, line_text: str) -> str:
    """How to fix a line TOML cannot read at all (``tomllib``'s ``message`` about it)."""
    key, _, value = (part.strip() for part in line_text.partition("="))
    bare = value.split("#")[0].strip()
    if "overwrite" in message:
        return f"each key once per section: `{key}` is given again"
    if "declare" in message and "twice" in message:
        return "each [section] once: move its keys under the first one"
    if "Unclosed array" in message:
        return f"separate list items with commas: {key} = [2027-03-26, 2027-03-29]"
    if "'='" in message:
        return f"write a key, '=' and its value: {key.split()[0] if key else 'key'} = ..."
    if bare in ("True", "False", "TRUE", "FALSE", "Yes", "No", "yes", "no"):
        word = "true" if bare.lower() in ("true", "yes") else "false"
        return f"write true or false in lower case: {key} = {word}"
    if re.match(r"\d{1,4}-\d{1,2}-\d{1,2}\b", bare):
        return f"write a real date as YYYY-MM-DD, without quotes: {key} = 2027-02-01"
    if bare and not re.match(r"[-+\d\"'\[{]", bare):
        return f'write text in quotes: {key} = "{bare}"'
    if bare.startswith('"') and bare.count('"') == 1:
        return f'close the quotes on the same line: {key} = {bare}"'
    return "see `mentorsync init` for an example"
