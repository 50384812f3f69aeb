"""Every parameter of every function in dsan_tf/ is used (issue 34), read from the source (its AST).

A parameter that the body never reads is a promise the code does not keep: ``largest_only`` accepted
by a class and never handed to its aligner, a frame shape that a scale ignores, a strategy that
``is_chief`` never looked at. Blind mutation rounds kept finding this kind of bug (an argument
accepted and not passed on), one call site at a time; this test finds every one at once, including
in code written later.

A parameter counts as used when its name is read anywhere in the body (nested functions included).
Exempt, each for a reason the code states:

- ``self`` and ``cls``, and names starting with ``_`` (the convention for "received, not needed":
  a signal handler's frame, a Tk event);
- a method whose name a base class already defines (Keras callback hooks, ``find_spec`` of an
  import finder): the base fixes its signature;
- dunder methods (``__exit__``): the language fixes their signature;
- a method whose body only raises ``NotImplementedError``: the signature subclasses must keep.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "dsan_tf"


def _parameters(arguments: ast.arguments) -> list[str]:
    names = [a.arg for a in arguments.posonlyargs + arguments.args + arguments.kwonlyargs]
    names += [a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None]
    return names


def _only_raises_not_implemented(function) -> bool:
    body = [s for s in function.body
            if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str))]
    if len(body) != 1 or not isinstance(body[0], ast.Raise) or body[0].exc is None:
        return False
    exc = body[0].exc.func if isinstance(body[0].exc, ast.Call) else body[0].exc
    return isinstance(exc, ast.Name) and exc.id == "NotImplementedError"


def unused_parameters(source: str) -> list[tuple[str | None, str, int, str]]:
    """(enclosing class or None, function, line, parameter) of each parameter the body never reads."""
    found = []

    def visit(node, class_name):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef):
                visit(child, child.name)
                continue
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                name = getattr(child, "name", "<lambda>")
                body = child.body if isinstance(child.body, list) else [child.body]
                read = {n.id for statement in body for n in ast.walk(statement) if isinstance(n, ast.Name)}
                abstract = not isinstance(child, ast.Lambda) and _only_raises_not_implemented(child)
                for parameter in [] if abstract else _parameters(child.args):  # abstract: the signature is the point
                    if parameter in ("self", "cls") or parameter.startswith("_") or parameter in read:
                        continue
                    found.append((None if isinstance(child, ast.Lambda) else class_name, name, child.lineno, parameter))
                # a function nested in a method is not a method
                visit(child, None)
                continue
            visit(child, class_name)

    visit(ast.parse(source), None)
    return found


def _base_defines(module_name: str, class_name: str, method: str) -> bool:
    cls = getattr(importlib.import_module(module_name), class_name, None)
    if cls is None:  # a class defined inside a function: no base to ask
        return False
    return any(method in vars(base) for base in cls.__mro__[1:])


def problems_in_package() -> list[str]:
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT)
        module_name = ".".join(relative.with_suffix("").parts).removesuffix(".__init__")
        for class_name, function, line, parameter in unused_parameters(path.read_text(encoding="utf-8")):
            if class_name is not None and (function.startswith("__") and function.endswith("__")
                                           or _base_defines(module_name, class_name, function)):
                continue
            where = f"{class_name}.{function}" if class_name else function
            problems.append(f"{relative}:{line}: {where}() never reads its parameter {parameter!r}")
    return problems


def test_every_parameter_in_the_package_is_read():
    assert problems_in_package() == [], (
        "a parameter is accepted and never used: pass it on, drop it, or (if a protocol fixes the "
        "signature) name it with a leading underscore")


def test_the_rule_finds_unused_parameters_and_only_those():
    source = '''
def passes_it_on(photo, largest_only=False):
    return detect(photo, largest_only=largest_only)

def drops_it(photo, largest_only=False):
    return detect(photo)

def handler(_signum, _frame):
    return None

def outer(size):
    def inner(x):
        return x * size
    return inner

class Base:
    def predict(self, pixels):
        """Subclasses predict."""
        raise NotImplementedError

    def hook(self, epoch, logs=None):
        return epoch

keep = lambda _folder: True
drop = lambda folder: True
'''
    found = [(c, f, p) for c, f, _, p in unused_parameters(source)]
    assert found == [(None, "drops_it", "largest_only"), ("Base", "hook", "logs"), (None, "<lambda>", "folder")]


def test_overrides_are_exempt_only_where_a_base_defines_the_method():
    # The EMA callback overrides a hook of keras.callbacks.Callback: exempt.
    assert _base_defines("dsan_tf.ema", "UpdateAverage", "on_train_batch_end")
    # A method the base does not define is held to the rule.
    assert not _base_defines("dsan_tf.ema", "UpdateAverage", "a_method_no_base_defines")


# ------------------------------------------------------------------ flags: the parameters of a command
def names_read(source: str) -> set[str]:
    """Every name the source reads as an attribute (``args.size``), a constant key (``settings["size"]``,
    ``settings.get("size")``) or a ``getattr``/``hasattr`` name: the ways a parsed flag is read here."""
    read = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            read.add(node.attr)
        elif isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            read.add(node.slice.value)
        elif isinstance(node, ast.Call) and node.args:
            function, key = node.func, None
            if isinstance(function, ast.Attribute) and function.attr in ("get", "pop"):
                key = node.args[0]
            elif isinstance(function, ast.Name) and function.id in ("getattr", "hasattr") and len(node.args) > 1:
                key = node.args[1]
            if isinstance(key, ast.Constant):
                read.add(key.value)
    return read


def _package_imports(source: str) -> set[str]:
    """The dsan_tf modules a source imports (``from dsan_tf.x import y`` may name a module y too)."""
    modules = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("dsan_tf"):
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names if alias.name.startswith("dsan_tf"))
    return modules


def _source_of(module_name: str) -> str | None:
    for candidate in (Path(*module_name.split(".")).with_suffix(".py"), Path(*module_name.split("."), "__init__.py")):
        if (ROOT / candidate).is_file():
            return (ROOT / candidate).read_text(encoding="utf-8")
    return None


def unread_flags(parser, module_source: str, imported_sources) -> list[str]:
    """Flags (by dest) that neither the command's module nor a dsan_tf module it imports ever reads."""
    import argparse

    read = names_read(module_source).union(*(names_read(s) for s in imported_sources))
    return [a.dest for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._VersionAction)) and a.dest not in read]


def test_every_flag_of_every_command_is_read_where_the_command_runs():
    from dsan_tf.cli import COMMANDS, build_parser

    problems = []
    for name, command in COMMANDS.items():
        _, parser = build_parser(name)
        source = _source_of(command.module)
        imported = [s for s in map(_source_of, sorted(_package_imports(source))) if s is not None]
        # --debug is added to every parser and read by the boundary (dsan_tf/cli/__init__.py)
        imported.append(_source_of("dsan_tf.cli"))
        problems += [f"dsan {name} --{dest.replace('_', '-')}" for dest in unread_flags(parser, source, imported)]
    assert problems == [], "flags parsed and never read: " + ", ".join(problems)


def test_the_flag_rule_finds_a_flag_nobody_reads():
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--size")
    parser.add_argument("--largest-only", action="store_true")
    parser.add_argument("--tau")
    source = ("def run(args):\n    settings = {'tau': 1}\n"
              "    return predict(args.photo, size=args.size, tau=settings.get('tau'))\n")
    assert unread_flags(parser, source, []) == ["largest_only"]
    assert unread_flags(parser, source, ["def helper(args):\n    return args.largest_only\n"]) == []
