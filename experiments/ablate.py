"""`dsan ablate` under its old path: ``python experiments/ablate.py ARGS`` is ``dsan ablate ARGS``.

The code lives in dsan_tf/cli/ablate.py; see ``dsan ablate --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("ablate", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
