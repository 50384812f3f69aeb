"""`dsan analyze` under its old path: ``python experiments/analyze.py ARGS`` is ``dsan analyze ARGS``.

The code lives in dsan_tf/cli/analyze.py; see ``dsan analyze --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("analyze", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
