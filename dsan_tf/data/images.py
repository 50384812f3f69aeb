"""The one list of image suffixes, and the one folder scan, of every command.

``IMAGE_SUFFIXES`` are the formats every entry point decodes: TensorFlow's
``decode_image`` (training pipeline, the SavedModel's ``serving_default``, a TF Serving
client) and Pillow (predict, align, explain): JPEG, PNG, BMP, GIF (first frame), WebP.
TIFF is not among them: Pillow reads it but TensorFlow does not, so a TIFF would be
accepted by one command and fail in the next. A TIFF named explicitly is still read by
the Pillow-based commands.

:func:`scan_images` walks a folder (recursively, following symlinked folders once) and
reports, besides the images, the files it skipped and the sub-folders it could not read
(permission denied): their images are missing from the result, and commands say so in
their summary instead of reporting a clean run. Names are kept as the file system gives
them (undecodable bytes as surrogates, ``os.fsencode`` gives them back).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")


def is_image_name(path) -> bool:
    return Path(path).suffix.lower() in IMAGE_SUFFIXES


@dataclasses.dataclass
class ImageScan:
    """What :func:`scan_images` found under ``root``."""

    root: Path
    images: list  # Paths, sorted
    skipped: int = 0  # files without an image suffix
    unreadable: list = dataclasses.field(default_factory=list)  # (folder Path, reason)

    def notes(self) -> list:
        """One line per problem, for a command's summary."""
        lines = []
        for folder, reason in self.unreadable:
            lines.append(f"{show_path(folder)}: folder cannot be read ({reason}); its images were skipped")
        return lines


def show_path(path) -> str:
    """A path as printable text (undecodable bytes as \\xNN), for messages and reports."""
    return os.fsdecode(path).encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def scan_images(root, suffixes=IMAGE_SUFFIXES) -> ImageScan:
    """Image files under ``root`` (recursive, case-insensitive suffixes, hidden files included as
    ``rglob`` did), with the count of other files and the folders that could not be read."""
    root = Path(root)
    scan = ImageScan(root, [])
    seen = set()

    def failed(error: OSError) -> None:
        scan.unreadable.append((Path(error.filename) if error.filename else root, error.strerror or str(error)))

    try:
        os.listdir(root)
    except OSError as error:
        failed(error)
        return scan
    for folder, dirs, files in os.walk(root, onerror=failed, followlinks=True):
        try:
            info = os.stat(folder)
            key = (info.st_dev, info.st_ino)
        except OSError:
            continue
        if key in seen:  # a symlink back up the tree: visit each folder once
            dirs[:] = []
            continue
        seen.add(key)
        dirs.sort()
        for name in files:
            path = Path(folder) / name
            if not path.is_file():  # a broken symlink, a pipe, a device
                continue
            if path.suffix.lower() in suffixes:
                scan.images.append(path)
            else:
                scan.skipped += 1
    scan.images.sort()
    return scan
