"""`dsan tfrecords` under its old path: ``python experiments/make_tfrecords.py ARGS`` is ``dsan tfrecords ARGS``.

The code lives in dsan_tf/cli/make_tfrecords.py; see ``dsan tfrecords --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("tfrecords", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
