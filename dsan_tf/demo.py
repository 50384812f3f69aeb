"""The demo photo shipped inside the package: what `dsan predict` and `dsan explain` run on
when given no input, so that a user's first command works before they have a photo.

`astronaut.jpg` is Eileen Collins (NASA, public domain), the `astronaut` sample image of
scikit-image (512x512), saved as JPEG: one colour face, smiling.
"""

from pathlib import Path

DEMO_PHOTO = Path(__file__).resolve().parent / "sample_data" / "astronaut.jpg"
DEMO_DESCRIPTION = "the demo photo shipped with dsan_tf (astronaut.jpg: Eileen Collins, NASA, public domain)"


def demo_photo() -> Path:
    """The path of the bundled demo photo (read it; never write next to it)."""
    return DEMO_PHOTO
