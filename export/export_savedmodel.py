"""`dsan export savedmodel` under its old path: ``python export/export_savedmodel.py ARGS`` is ``dsan export savedmodel ARGS``.

The code lives in dsan_tf/cli/export_savedmodel.py; see ``dsan export savedmodel --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("export savedmodel", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
