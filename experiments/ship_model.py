"""`dsan ship` under its old path: ``python experiments/ship_model.py ARGS`` is ``dsan ship ARGS``.

The code lives in dsan_tf/cli/ship_model.py; see ``dsan ship --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("ship", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
