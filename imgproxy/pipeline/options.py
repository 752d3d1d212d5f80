"""Reading an op's '/'-separated arguments, with one clear error per bad argument."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from imgproxy.errors import BadRequest

# ASCII digits only, and few enough for int(): `\d` and str.isdigit() also accept "²" and "①".
SIZE = re.compile(r"^([0-9]{1,9})x([0-9]{1,9})$")
QUALITY = re.compile(r"^([0-9]{1,3})(!?)$")
NUMBER = re.compile(r"^[0-9]{1,4}(\.[0-9]{1,3})?$")
T = TypeVar("T")
# The largest side a URL argument may name (w, h, WxH, minsize): four digits, as in Qiniu's URLs.
# The configured output limits (IMGPROXY_MAX_OUTPUT_SIDE and _PIXELS) apply on top, op by op.
MAX_SIDE = 9999


@dataclass(frozen=True)
class Options:
    positional: list[str]
    values: dict[str, str]  # key -> value, and flag -> ""
    ignore_error: bool


def read_options(
    op: str,
    args: Sequence[str],
    *,
    positional: int = 0,
    keys: Collection[str] = (),
    flags: Collection[str] = (),
) -> Options:
    """Split `args` into `positional` leading values, `key/value` pairs and bare flags.

    Every op takes `ignore-error/<0|1>`, as in Qiniu.
    """
    if len(args) < positional:
        raise BadRequest(f"{op}: expected {positional} leading argument(s), got {len(args)}")
    values: dict[str, str] = {}
    seen: set[str] = set()
    ignore_error = False
    rest = list(args[positional:])
    while rest:
        name = rest.pop(0)
        if name in flags:
            value = ""
        elif name in keys or name == "ignore-error":
            if not rest:
                raise BadRequest(f"{op}: {name} needs a value")
            value = rest.pop(0)
        else:
            raise BadRequest(f"{op}: unknown argument {name!r}")
        if name in seen:
            raise BadRequest(f"{op}: {name} is given twice")
        seen.add(name)
        if name == "ignore-error":
            ignore_error = read_flag(op, name, value)
        else:
            values[name] = value
    return Options(list(args[:positional]), values, ignore_error)


def read_flag(op: str, name: str, value: str) -> bool:
    if value not in ("0", "1"):
        raise BadRequest(f"{op}: {name} must be 0 or 1, got {value!r}")
    return value == "1"


def read_int(op: str, name: str, value: str, low: int, high: int) -> int:
    if not (value.isascii() and value.isdigit() and len(value) <= 9) or not low <= int(value) <= high:
        raise BadRequest(f"{op}: {name} must be a whole number from {low} to {high}, got {value!r}")
    return int(value)


def read_number(op: str, name: str, value: str, low: float, high: float) -> float:
    """A plain decimal (`1`, `2.5`; no sign, exponent, `nan` or `inf`) from `low` to `high`."""
    if not NUMBER.match(value) or not low <= float(value) <= high:
        raise BadRequest(f"{op}: {name} must be a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def read_size(op: str, name: str, value: str, high: int) -> tuple[int, int]:
    """`<W>x<H>` with both sides from 1 to `high`."""
    match = SIZE.match(value)
    if not match or not all(1 <= int(side) <= high for side in match.groups()):
        raise BadRequest(f"{op}: {name} must be <W>x<H> with W and H from 1 to {high}, got {value!r}")
    return int(match[1]), int(match[2])


def read_choice(op: str, name: str, value: str, choices: Mapping[str, T]) -> T:
    """One of the spellings in `choices`, matched without regard to case."""
    for spelling, choice in choices.items():
        if spelling.lower() == value.lower():
            return choice
    raise BadRequest(f"{op}: {name} must be one of {', '.join(choices)}, got {value!r}")


@dataclass(frozen=True)
class Quality:
    value: int
    # Without '!' Qiniu caps the quality by the source JPEG's own (see `state.output`).
    forced: bool = False

    def text(self) -> str:
        return f"{self.value}{'!' if self.forced else ''}"


def read_quality(op: str, name: str, value: str) -> Quality:
    """`<1-100>` or `<1-100>!`."""
    match = QUALITY.match(value)
    if not match or not 1 <= int(match[1]) <= 100:
        raise BadRequest(f"{op}: {name} must be a whole number from 1 to 100, optionally followed by '!', got {value!r}")
    return Quality(int(match[1]), bool(match[2]))
