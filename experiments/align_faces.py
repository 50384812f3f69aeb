"""`dsan align` under its old path: ``python experiments/align_faces.py ARGS`` is ``dsan align ARGS``.

The code lives in dsan_tf/cli/align_faces.py; see ``dsan align --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("align", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
