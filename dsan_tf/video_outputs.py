"""What ``dsan predict VIDEO`` writes on the live path: an annotated video, a per-face-and-frame table,
a chart of each track's expression probabilities over time.

Every file goes through the caller's :class:`dsan_tf.outputs.OutputPolicy`: each is written
to a temporary beside its target (same suffix, so OpenCV and matplotlib pick the format) and
renamed when complete, so an interrupted run leaves no half video under the name asked for.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Sequence

import numpy as np

VIDEO_SUFFIXES = {".mp4": "mp4v", ".avi": "MJPG"}  # annotated video: container -> OpenCV codec
TABLE_FIELDS = ("source", "frame", "time_s", "track", "box_x", "box_y", "box_w", "box_h", "detection_confidence",
                "label", "probability", "note")


def is_video_output(path) -> bool:
    return path is not None and Path(path).suffix.lower() in VIDEO_SUFFIXES


def labelled_rows(rows: Sequence[dict]) -> list[dict]:
    """Rows whose drawn label starts with the face's track id ("#2 happy 0.91")."""
    return [{**r, "label": f"#{r['track']} {r['label']}"} if r.get("track") is not None else r for r in rows]


@contextlib.contextmanager
def video_writer(policy, path, fps: float, size):
    """Yield ``write(rgb_frame)`` for an annotated video at ``path`` (``size`` = width, height), published
    through ``policy`` when the block ends without error."""
    import cv2

    path = Path(path)
    codec = VIDEO_SUFFIXES.get(path.suffix.lower())
    if codec is None:
        raise ValueError(f"{path}: an annotated video ends in {' or '.join(VIDEO_SUFFIXES)}")
    with policy.publish(path) as tmp:
        writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*codec), float(fps or 30.0), tuple(size))
        if not writer.isOpened():
            raise OSError(f"{path}: OpenCV cannot write a {codec} video here")
        try:
            yield lambda frame: writer.write(cv2.cvtColor(np.asarray(frame, np.uint8), cv2.COLOR_RGB2BGR))
        finally:
            writer.release()


def table_row(row: dict, class_names: Sequence[str]) -> dict:
    """A face row flattened for the CSV table: box as four columns, one ``p_<class>`` column per class."""
    box = row.get("box") or [None] * 4
    probabilities = row.get("probabilities") or {}
    flat = {k: row.get(k) for k in TABLE_FIELDS if not k.startswith("box_")}
    flat.update(dict(zip(("box_x", "box_y", "box_w", "box_h"), box)))
    flat.update({f"p_{n}": probabilities.get(n) for n in class_names})
    return {k: ("" if v is None else v) for k, v in flat.items()}


def table_fields(class_names: Sequence[str]) -> list[str]:
    return [*TABLE_FIELDS[:-1], *(f"p_{n}" for n in class_names), "note"]



def plot_tracks(rows: Sequence[dict], class_names: Sequence[str], path, policy, title: str = "") -> Path:
    """A PNG: one panel per track (up to 8, the longest), each class's probability against time (s)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by_track: dict = {}
    for r in rows:
        if r.get("track") is not None:
            by_track.setdefault(r["track"], []).append(r)
    tracks = sorted(by_track, key=lambda t: -len(by_track[t]))[:8]
    fig, axes = plt.subplots(max(len(tracks), 1), 1, figsize=(9, 2.4 * max(len(tracks), 1) + 0.6), squeeze=False,
                             sharex=True)
    for ax, track in zip(axes[:, 0], sorted(tracks)):
        face = by_track[track]
        times = [r["time_s"] if r.get("time_s") is not None else r["frame"] for r in face]
        for name in class_names:
            ax.plot(times, [r["probabilities"][name] for r in face], label=name, linewidth=1.2)
        ax.set_ylim(-0.03, 1.03)  # a probability of 1 stays visible above the frame's edge
        ax.set_ylabel(f"track {track}")
        ax.grid(alpha=0.3)
    if not tracks:
        axes[0, 0].text(0.5, 0.5, "no face in the video", ha="center", va="center")
    axes[0, 0].legend(loc="upper right", ncol=4, fontsize=7)
    axes[-1, 0].set_xlabel("time (s)")
    fig.suptitle(title or "expression probabilities per face")
    fig.tight_layout()
    with policy.publish(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    plt.close(fig)
    return Path(path)
