"""Shared argparse ``type=`` validators: every numeric and path flag of every command uses one.

A bad value is refused by argparse itself, in one line naming the flag and what was expected
(``dsan predict: error: argument --align-size: expected an integer in [16, 1024], got '0'``),
before TensorFlow loads and before any work starts. Each validator is a callable object with
a readable ``expected`` text, so that tests can walk the registry and probe every validated flag
with 0, -1, nan, inf and a huge value (``tests/test_flags.py``).

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
MAX_BATCH = 1024             # images per step or request
MAX_IMAGE_SIZE = 1024        # side of a face crop (align, predict --align-size)
MIN_MODEL_IMAGE_SIZE = 32    # the ResNet-18 trunk's stride (dsan_tf.model refuses less)
MAX_MODEL_IMAGE_SIZE = 512   # model input side: the paper's is 224, the shipped model's 48
MAX_SIDE = 65_535            # pixels: the largest side of a JPEG/PNG/WebP image
MAX_CLASSES = 1000
MAX_COUNT = 10_000_000
MAX_TENSOR_ELEMENTS = 2**31 - 1  # TensorFlow's CPU kernels index with int32: past this they crash


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

seed = _Int(0, 2**32 - 1)
"""A random seed (NumPy's legacy seeding takes 32 bits)."""

model_image_size = _Int(MIN_MODEL_IMAGE_SIZE, MAX_MODEL_IMAGE_SIZE)
"""A DSAN's square input side in pixels."""

face_size = _Int(1, MAX_SIDE)
"""A face box side in pixels (--min-face-size)."""


def fits_in_one_tensor(batch_size: int, image_size: int) -> bool:
    """Whether the trunk's first feature map (64 channels at half the input side) of a batch stays under
    TensorFlow's int32 element limit: past it, TensorFlow aborts the process instead of raising."""
    half = -(-int(image_size) // 2)
    return int(batch_size) * 64 * half * half <= MAX_TENSOR_ELEMENTS


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


def _output_problem(path: Path, suffixes=()):
    text = str(path)
    if not text.strip() or "\0" in text:
        return "expected a file or folder name"
    if suffixes and path.suffix.lower() not in suffixes:
        return f"expected a {' or '.join(suffixes)} file name"
    return None


def output_path(*suffixes: str) -> Validator:
    """Where a command writes (need not exist: the output policy checks it when the command runs);
    with ``suffixes``, a file name ending in one of them."""
    suffixes = tuple(s.lower() for s in suffixes)
    what = f"a {' or '.join(suffixes)} file name" if suffixes else "a file or folder name"
    return _Path(what, lambda path: _output_problem(path, suffixes))


def _model_problem(path: Path):
    if path.exists():
        return None
    from dsan_tf import pretrained  # numpy only, no TensorFlow

    if pretrained.is_shipped_name(str(path)):
        return None
    shipped = ", ".join(pretrained.available())
    hint = f"shipped models, given by name: {shipped}" if shipped else "no model ships with this installation yet"
    return f"no such model file ({hint})"  # (the words of dsan_tf.inference.check_model_exists)


any_path = _Path("a file or folder name", _output_problem)
"""A path the command checks itself (e.g. client's images: a missing one has its own exit status)."""

model_reference = _Path("a model file or folder, or a shipped model's name", _model_problem)
"""A --weights value: an existing .keras file (or SavedModel folder), or a shipped model's name."""


class _AsText(Validator):
    def __init__(self, inner: Validator):
        self.inner, self.kind = inner, inner.kind
        super().__init__(inner.expected)

    def __call__(self, text):
        return str(self.inner(text))


def as_text(validator: Validator) -> Validator:
    """The same check, the value kept as text (for settings saved as JSON, such as dsan train's)."""
    return _AsText(validator)


class _Text(Validator):
    kind = "text"

    def convert(self, text):
        return text if text and "\n" not in text and "\0" not in text else None


def text(expected: str = "a non-empty name") -> Validator:
    """Free text (a name, a split, a URL): non-empty, one line. Not for numbers or paths."""
    return _Text(expected)


class _Custom(Validator):
    def __init__(self, kind, expected, parse):
        self.kind, self.parse = kind, parse
        super().__init__(expected)

    def convert(self, text):
        try:
            return self.parse(text)
        except argparse.ArgumentTypeError:
            return None


def custom(kind: str, expected: str, parse) -> Validator:
    """``parse(text)`` -> value, or None / ValueError / ArgumentTypeError for a bad value. For
    structured values (``640x480``, ``update:lr:momentum``) whose parts are numbers in ranges."""
    return _Custom(kind, expected, parse)


class _List(Validator):
    kind = "list"

    def __init__(self, item: Validator, min_items, max_items):
        self.item, self.min_items, self.max_items = item, min_items, max_items
        super().__init__(f"comma-separated values, each {item.expected}")

    def convert(self, text):
        parts = [part.strip() for part in text.split(",")]
        if not self.min_items <= len(parts) <= self.max_items or "" in parts:
            return None
        values = []
        for part in parts:
            try:
                values.append(self.item(part))
            except argparse.ArgumentTypeError:
                return None
        return tuple(values)

    def __call__(self, text):
        try:
            return super().__call__(text)
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(
                f"expected {self.min_items} to {self.max_items} comma-separated values, each "
                f"{self.item.expected}, got {text!r}") from None


def comma_list(item: Validator, *, min_items: int = 1, max_items: int = 64) -> Validator:
    """``64,112`` -> (64, 112): comma-separated values, each checked by ``item``."""
    return _List(item, min_items, max_items)


class _Choices(Validator):
    kind = "choices"

    def __init__(self, choices):
        self.choices = tuple(choices)
        super().__init__(f"one of {', '.join(self.choices)}")

    def convert(self, text):
        return text if text in self.choices else None


def one_of(choices) -> Validator:
    """One word of ``choices`` (for list items: ``comma_list(one_of(PRECISIONS))``)."""
    return _Choices(choices)


def is_validated(action: argparse.Action) -> bool:
    """Whether an argparse action's values pass through one of these validators."""
    return isinstance(action.type, Validator)


def numeric_bounds(validator: Validator):
    """(minimum, maximum) of a numeric validator or of a list of numbers; None for the others."""
    validator = getattr(validator, "item", validator)
    if isinstance(validator, (_Int, _Float)):
        return validator.minimum, validator.maximum
    return None
