"""`dsan bench-serving` under its old path: ``python export/bench_serving.py ARGS`` is ``dsan bench-serving ARGS``.

The code lives in dsan_tf/cli/bench_serving.py; see ``dsan bench-serving --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("bench-serving", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
