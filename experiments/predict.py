"""`dsan predict` under its old path: ``python experiments/predict.py ARGS`` is ``dsan predict ARGS``.

The code lives in dsan_tf/cli/predict.py; see ``dsan predict --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("predict", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
