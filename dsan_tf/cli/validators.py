"""Shared argparse ``type=`` validators: every numeric and path flag of every command uses one.

A bad value is refused by argparse itself, in one line naming the flag and what was expected
(``dsan predict: error: argument --align-size: expected an integer in [16, 1024], got '0'``),
before TensorFlow loads and before any work starts. Each validator is a callable object with
a readable ``expected`` text, so that tests can walk the registry and probe every validated flag
with 0, -1, nan, inf and a huge value (``tests/test_flag_validation.py``).

Use::

    parser.add_argument("--batch-size", type=positive_int(maximum=4096), default=64, help=...)
    parser.add_argument("--tau", type=float_in(0.0, 1.0), ...)
    parser.add_argument("--weights", type=existing_file, ...)
"""

from __future__ import annotations

import argparse
import math
import os
from pathlib import Path

# Past these, a value is a typo, not a wish: TensorFlow aborts the process (a segfault, not an
# error) on some impossible shapes, so the refusal has to come first.
MAX_BATCH = 4096
MAX_IMAGE_SIZE = 1024
MAX_COUNT = 10_000_000


class Validator:
    """A ``type=`` callable: text -> value, or ``argparse.ArgumentTypeError`` naming what was expected."""

    kind = "value"

    def __init__(self, expected: str):
        self.expected = expected
        # argparse prints the type's __name__ in "invalid <name> value"; ours say more themselves.
        self.__name__ = self.kind

    def convert(self, text: str):
        raise NotImplementedError

    def __call__(self, text):
        try:
            value = self.convert(str(text).strip())
        except (TypeError, ValueError, OverflowError):
            value = None
        if value is None:
            raise argparse.ArgumentTypeError(f"expected {self.expected}, got {text!r}")
        return value

    def __repr__(self):
        return f"<{type(self).__name__}: {self.expected}>"


class _Int(Validator):
    kind = "integer"

    def __init__(self, minimum, maximum):
        self.minimum, self.maximum = minimum, maximum
        super().__init__(f"an integer in [{minimum}, {maximum}]")

    def convert(self, text):
        value = int(text, 10)
        return value if self.minimum <= value <= self.maximum else None


class _Float(Validator):
    kind = "number"

    def __init__(self, minimum, maximum, *, open_low=False, open_high=False):
        self.minimum, self.maximum, self.open_low, self.open_high = minimum, maximum, open_low, open_high
        low, high = "(" if open_low else "[", ")" if open_high else "]"
        super().__init__(f"a finite number in {low}{minimum:g}, {maximum:g}{high}")

    def convert(self, text):
        value = float(text)
        if not math.isfinite(value):
            return None
        if value < self.minimum or (self.open_low and value == self.minimum):
            return None
        if value > self.maximum or (self.open_high and value == self.maximum):
            return None
        return value


def int_in(minimum: int, maximum: int) -> Validator:
    """An integer in [minimum, maximum]."""
    return _Int(minimum, maximum)


def positive_int(maximum: int = MAX_COUNT) -> Validator:
    """An integer >= 1 (and <= maximum)."""
    return _Int(1, maximum)


def non_negative_int(maximum: int = MAX_COUNT) -> Validator:
    """An integer >= 0 (and <= maximum)."""
    return _Int(0, maximum)


def float_in(minimum: float, maximum: float, *, open_low=False, open_high=False) -> Validator:
    """A finite float in the range (closed unless said open)."""
    return _Float(minimum, maximum, open_low=open_low, open_high=open_high)


def positive_float(maximum: float = 1e9) -> Validator:
    """A finite float > 0."""
    return _Float(0.0, maximum, open_low=True)


def non_negative_float(maximum: float = 1e9) -> Validator:
    """A finite float >= 0."""
    return _Float(0.0, maximum)


probability = _Float(0.0, 1.0)
"""A finite float in [0, 1]."""


class _Path(Validator):
    kind = "path"

    def __init__(self, expected, check):
        self.check = check
        super().__init__(expected)

    def __call__(self, text):
        path = Path(os.path.expanduser(str(text)))
        problem = self.check(path)
        if problem:
            raise argparse.ArgumentTypeError(f"{text}: {problem}")
        return path


def _file_problem(path: Path):
    if not path.exists():
        return "no such file"
    if path.is_dir():
        return "is a folder, expected a file"
    if not os.access(path, os.R_OK):
        return "not readable (permission denied)"
    return None


def _dir_problem(path: Path):
    if not path.exists():
        return "no such folder"
    if not path.is_dir():
        return "is a file, expected a folder"
    return None


def _path_problem(path: Path):
    return None if path.exists() else "no such file or folder"


existing_file = _Path("an existing, readable file", _file_problem)
existing_dir = _Path("an existing folder", _dir_problem)
existing_path = _Path("an existing file or folder", _path_problem)


def is_validated(action: argparse.Action) -> bool:
    """Whether an argparse action's values pass through one of these validators."""
    return isinstance(action.type, Validator)
