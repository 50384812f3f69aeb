"""`dsan profile` under its old path: ``python experiments/profile.py ARGS`` is ``dsan profile ARGS``.

The code lives in dsan_tf/cli/profile.py; see ``dsan profile --help``.
"""

import sys

# This file shares its name with the standard library's ``profile``: a script runs with its
# folder first on sys.path, and importing keras imports IPython -> cProfile -> ``profile``,
# which would find this file. Imported under that name, it loads the standard library
# module in its place (the import statement then returns what sys.modules holds).
if __name__ == "profile":
    import importlib
    import os

    _here = os.path.dirname(os.path.abspath(__file__))
    _saved_path = sys.path[:]
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _here]
    del sys.modules["profile"]
    try:
        importlib.import_module("profile")
    finally:
        sys.path[:] = _saved_path
else:
    from dsan_tf.cli import script_main

    def main(argv=None) -> int:
        return script_main("profile", __file__, argv)

    if __name__ == "__main__":
        sys.exit(main())
