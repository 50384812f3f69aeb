"""`dsan export tflite` under its old path: ``python export/export_tflite.py ARGS`` is ``dsan export tflite ARGS``.

The code lives in dsan_tf/cli/export_tflite.py; see ``dsan export tflite --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("export tflite", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
