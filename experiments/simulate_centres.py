"""`dsan simulate-centres` under its old path: ``python experiments/simulate_centres.py ARGS`` is ``dsan simulate-centres ARGS``.

The code lives in dsan_tf/cli/simulate_centres.py; see ``dsan simulate-centres --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("simulate-centres", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
