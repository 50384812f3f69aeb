"""`dsan bench-pipeline` under its old path: ``python experiments/bench_pipeline.py ARGS`` is ``dsan bench-pipeline ARGS``.

The code lives in dsan_tf/cli/bench_pipeline.py; see ``dsan bench-pipeline --help``.
"""

import sys

from dsan_tf.cli import script_main


def main(argv=None) -> int:
    return script_main("bench-pipeline", __file__, argv)


if __name__ == "__main__":
    sys.exit(main())
