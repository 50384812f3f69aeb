"""`dsan data-summary` under its old path: ``python experiments/data_summary.py ARGS`` is ``dsan data-summary ARGS``.

The code lives in dsan_tf/cli/data_summary.py; see ``dsan data-summary --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("data-summary", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
