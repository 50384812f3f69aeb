"""TF Serving's model versions: folder names that are int64 numbers >= 1.

Kept free of TensorFlow so that export/export_savedmodel.py checks --version before
TensorFlow is imported.
"""

MAX_VERSION = 2 ** 63 - 1


def check_version(version) -> int:
    """``version`` as an int; ValueError unless 1 <= version <= 2**63 - 1 (TF Serving's int64)."""
    try:
        number = int(str(version).strip())
    except ValueError:
        raise ValueError(f"version must be a positive integer, got {version!r}") from None
    if not 1 <= number <= MAX_VERSION:
        raise ValueError(f"version must be a positive integer up to {MAX_VERSION} "
                         f"(TF Serving stores versions as int64), got {version}")
    return number
