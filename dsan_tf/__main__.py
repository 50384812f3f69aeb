"""``python -m dsan_tf``: the ``dsan`` command (see ``dsan --help``)."""

import sys

from dsan_tf.cli import main

if __name__ == "__main__":
    sys.exit(main())
