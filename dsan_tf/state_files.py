"""The one checked reader of the state files a command reads back (issue 31).

A state file is one that dsan itself wrote and later reads again: a run's
``config.json``, ``history.csv`` and ``metrics.json``, align's ledger, the plan and
manifests of ``tfrecords``, ``calibration.json``, a server's reply... Such a file
can be truncated by a kill, damaged by a disk, edited by hand or written by another
version. Whatever is wrong, reading it here gives one :class:`StateFileError` line
naming the file, what it is, and what is wrong (not JSON, truncated, wrong type,
missing key, a number that is not a finite number), never a traceback and never a
silently wrong value.

Schemas are small and written inline where the file is read:

- a type (``dict``, ``list``, ``str``, ``bool``, ``int``, ``float``, ``Number``): the value
  must be of it; ``float`` and ``Number`` accept ints and mean a *finite* number;
- a dict ``{key: schema}``: a JSON object with at least those keys (a key ending in
  ``"?"`` is optional), each checked against its schema;
- a list ``[schema]``: a JSON array whose every item is checked;
- a tuple of schemas: any one of them (``(str, None)`` allows ``null``).

``require_finite(values, source)`` is the one check that no NaN or infinite number
leaves a command as an answer.
"""

import json
import math
import numbers
from pathlib import Path

import numpy as np

from dsan_tf.errors import UserError

Number = numbers.Real  # a finite number (int or float, not bool)


class StateFileError(UserError, ValueError):
    """A state file that is missing, unreadable, damaged or not what the command expects."""


class ArgumentError(UserError, ValueError):
    """An argument of the Python API outside its range (the command line's validators refuse the same)."""


class NotANumberError(UserError, ValueError):
    """A NaN or infinite number where an answer (probability, metric, table cell) was to be."""


def _fail(path, what, problem, hint=None):
    where = f"{path} ({what})" if what else f"{path}"
    raise StateFileError(f"{where}: {problem}" + (f"; {hint}" if hint else ""))


def _reject_constant(name):
    raise ValueError(f"holds {name}, not a finite number")


def read_text_state(path, what=None, hint=None) -> str:
    """The UTF-8 text of a state file; StateFileError when it is missing, unreadable or not text."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        _fail(path, what, "not found", hint)
    except IsADirectoryError:
        _fail(path, what, "is a folder, not a file", hint)
    except OSError as error:
        _fail(path, what, f"cannot be read ({error.strerror or error})", hint)
    return decode_state(data, path, what, hint)


def decode_state(data: bytes, source, what=None, hint=None) -> str:
    """``data`` as UTF-8 text; StateFileError naming ``source`` when it is not (garbage, a binary file)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        _fail(source, what, f"not UTF-8 text (damaged? byte {error.start} is 0x{data[error.start]:02x})", hint)


def parse_json_state(text, source, schema=dict, what=None, hint=None):
    """``text`` parsed as JSON and checked against ``schema``; ``source`` names it in errors."""
    if not text.strip():
        _fail(source, what, "is empty (truncated?)", hint)
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        cut = error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string")
        truncated = " (truncated?)" if cut else ""
        _fail(source, what, f"not valid JSON{truncated}: {error.msg} (line {error.lineno} column {error.colno})",
              hint)
    except ValueError as error:  # NaN, Infinity
        _fail(source, what, str(error), hint)
    problem = check_schema(value, schema)
    if problem:
        _fail(source, what, problem, hint)
    return value


def read_json_state(path, schema=dict, what=None, hint=None):
    """A JSON state file, checked against ``schema`` (see the module's docstring)."""
    return parse_json_state(read_text_state(path, what, hint), path, schema, what, hint)


# What a run's config.json must hold for the commands that read it back (resume, ablate, compare, ...).
RUN_CONFIG_SCHEMA = {"settings": dict, "versions?": dict, "evaluation_split?": (str, None)}


def read_run_config(run_dir, hint=None) -> dict:
    """A run folder's config.json (dsan train's), checked."""
    return read_json_state(Path(run_dir) / "config.json", RUN_CONFIG_SCHEMA, what="a run's configuration",
                           hint=hint)


def _type_name(value) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false", type(None): "null",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _schema_name(schema) -> str:
    if isinstance(schema, tuple):
        return " or ".join(_schema_name(s) for s in schema)
    if isinstance(schema, dict):
        return "an object"
    if isinstance(schema, list):
        return "an array"
    if schema is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "true/false", int: "an integer",
            float: "a finite number", Number: "a finite number"}.get(schema, getattr(schema, "__name__", str(schema)))


def check_schema(value, schema, where=""):
    """None when ``value`` fits ``schema``, else what is wrong (naming the key path)."""
    at = f" at {where}" if where else ""
    if isinstance(schema, tuple):
        if any(check_schema(value, option, where) is None for option in schema):
            return None
        return f"expected {_schema_name(schema)}{at}, found {_type_name(value)}"
    if schema is None:
        return None if value is None else f"expected null{at}, found {_type_name(value)}"
    if isinstance(schema, dict):
        if not isinstance(value, dict):
            return f"expected an object{at}, found {_type_name(value)}"
        for key, sub in schema.items():
            optional = key.endswith("?")
            name = key[:-1] if optional else key
            if name not in value:
                if optional:
                    continue
                return f"missing key {where + '.' if where else ''}{name!s}"
            problem = check_schema(value[name], sub, f"{where}.{name}" if where else str(name))
            if problem:
                return problem
        return None
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"expected an array{at}, found {_type_name(value)}"
        for i, item in enumerate(value):
            problem = check_schema(item, schema[0], f"{where}[{i}]")
            if problem:
                return problem
        return None
    if schema in (float, Number):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"expected a finite number{at}, found {_type_name(value)}"
        if not math.isfinite(value):
            return f"expected a finite number{at}, found {value}"
        return None
    if schema is int:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"expected an integer{at}, found {_type_name(value)}"
        return None
    if schema is object:
        return None
    if not isinstance(value, schema) or (schema is not bool and isinstance(value, bool)):
        return f"expected {_schema_name(schema)}{at}, found {_type_name(value)}"
    return None


def read_csv_state(path, columns=(), what=None, hint=None, finite=(), numeric=False, **read_csv):
    """A CSV state file as a DataFrame with at least ``columns``; the columns in ``finite`` must hold
    finite numbers in every row; ``numeric``: every cell is a number or empty. Extra keyword arguments go
    to ``pandas.read_csv``."""
    import pandas as pd

    text = read_text_state(path, what, hint)
    if not text.strip():
        _fail(path, what, "is empty (truncated?)", hint)
    import io

    try:
        table = pd.read_csv(io.StringIO(text), **read_csv)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        _fail(path, what, f"not a readable CSV table ({reason})", hint)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        _fail(path, what, f"missing column(s) {', '.join(missing)} (found: {', '.join(map(str, table.columns))})",
              hint)
    for column in table.columns if numeric else ():
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            _fail(path, what, f"row {row + 2}, column {column}: {table[column].iloc[row]!r} is not a number", hint)
    for column in finite:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = ~np.isfinite(values.to_numpy(dtype=float))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            _fail(path, what, f"row {row + 2}, column {column}: {table[column].iloc[row]!r} is not a finite number",
                  hint)
    return table


def require_finite(values, source, what="values", hint=None):
    """``values`` unchanged when every number in it is finite; else NotANumberError naming ``source``.

    ``values``: a number, an array, or nested lists/tuples/dicts of them (dict values are checked).
    """
    bad = _first_non_finite(values)
    if bad is not None:
        where, number = bad
        raise NotANumberError(f"{source}: {what} include {number}{' at ' + where if where else ''}, "
                              "not a finite number" + (f"; {hint}" if hint else ""))
    return values


def _first_non_finite(value, where=""):
    if isinstance(value, dict):
        for key, item in value.items():
            found = _first_non_finite(item, f"{where}.{key}" if where else str(key))
            if found:
                return found
        return None
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _first_non_finite(item, f"{where}[{i}]")
            if found:
                return found
        return None
    if isinstance(value, (str, bytes, bool)) or value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    bad = ~np.isfinite(array)
    if not bad.any():
        return None
    if array.ndim == 0:
        return where, float(array)
    index = np.unravel_index(int(np.flatnonzero(bad)[0]), array.shape)
    return f"{where}[{', '.join(map(str, index))}]", float(array[index])


def require_in_range(value, name, low=None, high=None, *, low_open=False, high_open=False):
    """``value`` when it is a finite number in [low, high] (bounds open when asked); else ValueError naming
    ``name`` (an argument of the Python API or a field of a state file)."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.number)) or not math.isfinite(value):
        raise ArgumentError(f"{name} must be a finite number, got {value!r}")
    below = value <= low if low_open else value < low if low is not None else False
    above = value >= high if high_open else value > high if high is not None else False
    if below or above:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = f"{left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        raise ArgumentError(f"{name} must be in {span}, got {value!r}")
    return value


def read_csv_rows_state(path, fields, what=None, hint=None, allowed=None, errors="strict") -> list:
    """The rows (dicts) of a CSV state file written by ``csv.DictWriter(fieldnames=fields)``; every row must
    have every field (a row cut by a kill is reported, not half-used); ``allowed``: {field: set of values}.
    ``errors="surrogateescape"`` reads file names that are not UTF-8 back as the bytes they were."""
    import csv
    import io

    try:
        data = Path(path).read_bytes()
    except OSError as error:
        _fail(path, what, f"cannot be read ({error.strerror or error})", hint)
    try:
        text = data.decode("utf-8", errors)
    except UnicodeDecodeError as error:
        _fail(path, what, f"not UTF-8 text (damaged? byte {error.start} is 0x{data[error.start]:02x})", hint)
    if "\0" in text:
        _fail(path, what, "holds NUL bytes (damaged)", hint)
    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, None)
        if header is None:
            _fail(path, what, "is empty (truncated?)", hint)
        if list(header) != list(fields):
            _fail(path, what, f"header is {','.join(header)[:80]!r}, expected {','.join(fields)!r}", hint)
        rows = []
        for number, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != len(fields):
                _fail(path, what, f"line {number} has {len(values)} field(s), expected {len(fields)} (truncated?)",
                      hint)
            row = dict(zip(fields, values))
            for field, options in (allowed or {}).items():
                if row[field] not in options:
                    _fail(path, what, f"line {number}: {field} {row[field][:40]!r} is not one of "
                                      f"{', '.join(sorted(options))}", hint)
            rows.append(row)
    except csv.Error as error:
        _fail(path, what, f"not a readable CSV table ({error})", hint)
    return rows


def read_npz_state(path, arrays, what=None, hint=None) -> dict:
    """The arrays of an ``.npz`` state file: ``arrays`` maps each name to (ndim, dtype kinds), e.g.
    ``{"features": (2, "f"), "labels": (1, "iu"), "class_names": (1, "U")}``; float arrays must be finite.
    Pickled objects are never loaded."""
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as stored:
            found = {}
            for name, (ndim, kinds) in arrays.items():
                if name not in stored.files:
                    _fail(path, what, f"holds no array {name!r} (found: {', '.join(stored.files) or 'none'})", hint)
                array = stored[name]
                if array.ndim != ndim or array.dtype.kind not in kinds:
                    _fail(path, what, f"array {name!r} is {array.ndim}-D {array.dtype}, expected {ndim}-D of kind "
                                      f"{kinds!r}", hint)
                if array.dtype.kind == "f" and not np.isfinite(array).all():
                    _fail(path, what, f"array {name!r} holds NaN or infinite numbers", hint)
                found[name] = array
    except StateFileError:
        raise
    except FileNotFoundError:
        _fail(path, what, "not found", hint)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        _fail(path, what, f"not a readable .npz archive (truncated or damaged: {reason[:120]})", hint)
    return found
