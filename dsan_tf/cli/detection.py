"""The face-detector flags that predict, explain, client and align share: one check for all."""


def check_detector_args(parser, args) -> None:
    """``parser.error`` for an impossible --min-confidence, --min-face-size or --align-size (where the command has it)."""
    if getattr(args, "align_size", None) is not None and args.align_size < 8:
        parser.error(f"--align-size must be >= 8, got {args.align_size}")
    if not 0.0 <= args.min_confidence <= 1.0:
        parser.error(f"--min-confidence must lie in [0, 1], got {args.min_confidence}")
    if args.min_face_size < 1:
        parser.error(f"--min-face-size must be >= 1 pixel, got {args.min_face_size}")
