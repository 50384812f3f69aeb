"""The structural rule of dsan_tf's outputs, as a checker of the source (its AST).

Every file a command writes or deletes goes through the output policy (dsan_tf/outputs.py).
A *write primitive* (opening for writing, ``Path.write_*``, ``unlink``/``rmdir``/``mkdir``,
``shutil.rmtree/move/copy*``, ``os.remove/unlink/rename/replace/makedirs``, ``np.save*``,
``to_csv``/``to_json``, ``savefig``, ``model.save``/``save_weights``, ``tf.io.TFRecordWriter``,
``tf.io.write_file``, ``tf.saved_model.save``, ``cv2.imwrite``/``VideoWriter``, ``Image.save``,
and the policy's own writers ``atomic_path``/``atomic_dir``/``write_json``/``write_text``/...)
may stand outside dsan_tf/outputs.py only when its target is a place the policy handed out:

- a name bound by ``with <policy>.publish(...) as tmp`` or ``with <policy>.publish_folder(...) as tmp``
  (or ``tmp = stack.enter_context(<policy>.publish(...))``);
- a name bound to a folder the policy claimed: ``folder = <policy>.claim_folder(...)`` or
  ``<policy>.claim_and_mark(...)`` (a run folder: its files are the command's);
- a private scratch place: ``tempfile.TemporaryDirectory()/mkdtemp()/mkstemp()``, an
  in-memory ``io.BytesIO()``;
- or anything computed from one of those names (``Path(tmp) / "x"``, ``f"{tmp}.part"``).

A primitive whose target the checker cannot see (a library function writing to a path its
caller passes) must be listed in ``ALLOWED`` with the claim that covers it; a listed function
that no longer holds a primitive is an error too, so the list stays honest.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

POLICY_MODULE = "dsan_tf/outputs.py"

# Called by name or dotted name (matched on the last one or two parts): target argument index.
FUNCTIONS = {
    "os.remove": 0, "os.unlink": 0, "os.rmdir": 0, "os.removedirs": 0, "os.makedirs": 0, "os.mkdir": 0,
    "os.truncate": 0, "os.rename": 1, "os.replace": 1, "os.link": 1, "os.symlink": 1, "os.open": 0,
    "shutil.rmtree": 0, "shutil.move": 1, "shutil.copy": 1, "shutil.copy2": 1, "shutil.copyfile": 1,
    "shutil.copytree": 1, "np.save": 0, "np.savez": 0, "np.savez_compressed": 0, "np.savetxt": 0,
    "numpy.save": 0, "numpy.savez": 0, "numpy.savez_compressed": 0,
    "io.TFRecordWriter": 0, "io.write_file": 0, "saved_model.save": 1, "models.save_model": 1,
    "saving.save_model": 1, "cv2.imwrite": 0, "cv2.VideoWriter": 0, "gfile.GFile": 0, "gfile.rmtree": 0,
    "gfile.remove": 0, "gfile.rename": 1, "gfile.makedirs": 0, "gfile.copy": 1,
    # the policy module's writers: they replace their target, so the caller must own it
    "atomic_path": 0, "atomic_dir": 0, "write_json": 1, "write_text": 0, "write_bytes": 0,
    "write_marker": 0, "record_in_marker": 0, "write_through": 0,
}
# Called as a method: target is the receiver ("self") or an argument index.
METHODS = {
    "write_text": "self", "write_bytes": "self", "unlink": "self", "rmdir": "self", "mkdir": "self",
    "touch": "self", "symlink_to": "self", "hardlink_to": "self", "rename": 0, "replace": 0,
    "savefig": 0, "save": 0, "save_weights": 0, "to_csv": 0, "to_json": 0, "to_parquet": 0,
    "to_pickle": 0, "to_excel": 0, "tofile": 0, "open": "self", "export": 0,
}
WRITE_MODES = set("wax+")
POLICY_BINDERS = {"publish", "publish_folder"}         # with <policy>.publish(...) as tmp
CLAIMED_FOLDERS = {"claim_folder", "claim_and_mark"}   # folder = <policy>.claim_folder(...)
SCRATCH = {"TemporaryDirectory", "mkdtemp", "mkstemp", "NamedTemporaryFile", "BytesIO", "StringIO"}
STREAMS = {"stdout", "stderr"}


@dataclass(frozen=True)
class Finding:
    module: str
    function: str
    line: int
    call: str

    def __str__(self):
        return f"{self.module}:{self.line} in {self.function}: {self.call}"


def dotted(node) -> str:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    elif isinstance(node, ast.Call):
        parts.append(dotted(node.func) + "()")
    return ".".join(reversed(parts))


def _mode_writes(call, index) -> bool:
    """Whether an open()-like call's mode (positional ``index`` or mode=) writes; default read."""
    mode = None
    if len(call.args) > index:
        mode = call.args[index]
    for keyword in call.keywords:
        if keyword.arg == "mode":
            mode = keyword.value
    if mode is None:
        return False
    if isinstance(mode, ast.Constant) and isinstance(mode.value, str):
        return bool(WRITE_MODES & set(mode.value))
    return True  # a computed mode: assume it writes


def primitive_target(call: ast.Call):
    """(description, target node or None) when ``call`` is a write primitive, else None."""
    name = dotted(call.func)
    last_two = ".".join(name.split(".")[-2:])
    if name == "open":  # builtin open(path, mode)
        return (f"open(..., mode)", call.args[0] if call.args else None) if _mode_writes(call, 1) else None
    if name in FUNCTIONS or last_two in FUNCTIONS:
        index = FUNCTIONS.get(name, FUNCTIONS.get(last_two))
        if last_two == "os.open":
            flags = ast.unparse(call.args[1]) if len(call.args) > 1 else ""
            if not any(flag in flags for flag in ("O_WRONLY", "O_RDWR", "O_CREAT", "O_APPEND", "O_TRUNC")):
                return None
        if last_two == "gfile.GFile" and not _mode_writes(call, 1):
            return None
        return name, call.args[index] if len(call.args) > index else None
    if not isinstance(call.func, ast.Attribute):
        return None
    attr = call.func.attr
    if attr not in METHODS or name.split(".")[0] in ("dataclasses", "str", "self"):
        return None
    positional = len(call.args)
    if attr in ("rename", "replace") and not (positional == 1 and not call.keywords):
        return None  # str.replace(a, b), DataFrame.rename(columns=...)
    if attr in ("to_csv", "to_json") and positional == 0:
        return None  # returns the text
    if attr == "open":  # Path.open(mode): Image.open(fp) and the like only read
        if name.split(".")[-2:-1] == ["Image"]:
            return None
        mode = next((k.value for k in call.keywords if k.arg == "mode"), call.args[0] if call.args else None)
        if not (isinstance(mode, ast.Constant) and isinstance(mode.value, str) and WRITE_MODES & set(mode.value)):
            return None
    if attr == "export" and not name.endswith("model.export"):
        return None
    where = METHODS[attr]
    if where == "self":
        return name, call.func.value
    if positional > where:
        return name, call.args[where]
    return name, call.func.value  # manager.save(): writes where its receiver points


def _binds_policy_place(value) -> bool:
    """Whether ``value`` (a with item's expression or an assigned value) hands out a place."""
    if isinstance(value, ast.Call) and dotted(value.func).endswith("enter_context") and value.args:
        value = value.args[0]
    if not isinstance(value, ast.Call):
        return False
    name = dotted(value.func)
    last = name.split(".")[-1]
    if isinstance(value.func, ast.Attribute) and last in POLICY_BINDERS | CLAIMED_FOLDERS:
        return True
    return last in SCRATCH or last in ("atomic_path", "atomic_dir")


def _names(target) -> set:
    return {node.id for node in ast.walk(target) if isinstance(node, ast.Name)}


def _mentions(node, allowed) -> bool:
    if node is None:
        return False
    for sub in ast.walk(node):
        if isinstance(sub, ast.Name) and sub.id in allowed:
            return True
        if isinstance(sub, ast.Attribute) and sub.attr in STREAMS and dotted(sub).startswith("sys."):
            return True
    return False


def _own_nodes(function):
    """The nodes of ``function`` not inside a nested function or class."""
    stack = list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            stack.extend(ast.iter_child_nodes(node))


def _allowed_names(function, inherited) -> set:
    allowed = set(inherited)
    nodes = list(_own_nodes(function))
    for node in nodes:
        if isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None and _binds_policy_place(item.context_expr):
                    allowed |= _names(item.optional_vars)
        elif isinstance(node, ast.Assign) and _binds_policy_place(node.value):
            for target in node.targets:
                allowed |= _names(target)
    changed = True
    while changed:  # names computed from allowed names
        changed = False
        for node in nodes:
            pairs = []
            if isinstance(node, ast.Assign):
                pairs = [(t, node.value) for t in node.targets]
            elif isinstance(node, (ast.AnnAssign, ast.AugAssign)) and node.value is not None:
                pairs = [(node.target, node.value)]
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                pairs = [(i.optional_vars, i.context_expr) for i in node.items if i.optional_vars is not None]
            elif isinstance(node, ast.NamedExpr):
                pairs = [(node.target, node.value)]
            for target, value in pairs:
                new = _names(target) - allowed
                if new and _mentions(value, allowed):
                    allowed |= new
                    changed = True
    return allowed


def check_source(source: str, module: str = "<snippet>") -> list:
    """Findings: write primitives whose target the policy did not hand out, by function."""
    tree = ast.parse(source)
    findings = []

    def visit(scope, qualname, inherited):
        allowed = _allowed_names(scope, inherited) if not isinstance(scope, ast.Module) else set()
        for node in _own_nodes(scope):
            if isinstance(node, ast.Call):
                found = primitive_target(node)
                if found is not None and not _mentions(found[1], allowed):
                    findings.append(Finding(module, qualname, node.lineno, ast.unparse(node)[:120]))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                visit(node, f"{qualname}.{node.name}" if qualname != "<module>" else node.name, allowed)
            elif isinstance(node, ast.ClassDef):
                visit(node, f"{qualname}.{node.name}" if qualname != "<module>" else node.name, allowed)
            elif isinstance(node, ast.Lambda):
                for sub in ast.walk(node.body):
                    if isinstance(sub, ast.Call):
                        found = primitive_target(sub)
                        if found is not None and not _mentions(found[1], allowed):
                            findings.append(Finding(module, qualname, sub.lineno, ast.unparse(sub)[:120]))

    visit(tree, "<module>", set())
    return findings


def check_package(root: Path, allowed: dict) -> tuple:
    """(findings not covered by ``allowed``, stale entries of ``allowed``) over dsan_tf/**.py."""
    findings, used = [], set()
    for path in sorted((root / "dsan_tf").rglob("*.py")):
        module = path.relative_to(root).as_posix()
        if module == POLICY_MODULE:
            continue
        for finding in check_source(path.read_text(encoding="utf-8"), module):
            key = (finding.module, finding.function)
            if key in allowed:
                used.add(key)
            else:
                findings.append(finding)
    return findings, sorted(set(allowed) - used)
