"""`dsan explain` under its old path: ``python experiments/explain.py ARGS`` is ``dsan explain ARGS``.

The code lives in dsan_tf/cli/explain.py; see ``dsan explain --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("explain", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
