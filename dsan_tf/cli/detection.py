"""The face-detector flags that predict, explain, client and align share: declared once, with one
validator and one default for every command."""

from dsan_tf.cli.validators import face_size, probability


def add_detector_args(parser, scope: str = "") -> None:
    """--min-confidence and --min-face-size; ``scope`` starts their help ("photos: " where the command
    also takes face crops, which are never detected)."""
    parser.add_argument("--min-confidence", type=probability, default=0.9,
                        help=f"{scope}drop MTCNN detections below this score (default 0.9)")
    parser.add_argument("--min-face-size", type=face_size, default=20,
                        help=f"{scope}ignore faces whose shorter box side is below this many pixels (default 20)")
