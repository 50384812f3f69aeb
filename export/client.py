"""`dsan client` under its old path: ``python export/client.py ARGS`` is ``dsan client ARGS``.

The code lives in dsan_tf/cli/client.py; see ``dsan client --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("client", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
