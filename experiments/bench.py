"""`dsan bench` under its old path: ``python experiments/bench.py ARGS`` is ``dsan bench ARGS``.

The code lives in dsan_tf/cli/bench.py; see ``dsan bench --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("bench", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
