"""`dsan table4` under its old path: ``python experiments/table4.py ARGS`` is ``dsan table4 ARGS``.

The code lives in dsan_tf/cli/table4.py; see ``dsan table4 --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("table4", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
