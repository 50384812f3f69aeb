"""`dsan make-sample` under its old path: ``python experiments/make_sample.py ARGS`` is ``dsan make-sample ARGS``.

The code lives in dsan_tf/cli/make_sample.py; see ``dsan make-sample --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("make-sample", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
