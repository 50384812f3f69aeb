"""`dsan train` under its old path: ``python experiments/run.py ARGS`` is ``dsan train ARGS``.

The code lives in dsan_tf/cli/run.py; see ``dsan train --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("train", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
