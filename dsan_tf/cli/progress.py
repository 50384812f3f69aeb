"""Progress bars for the command line's long steps, on stderr (tqdm; off with --no-progress)."""

from __future__ import annotations

import math


class Batches:
    """Iterates ``dataset`` like the dataset itself, with a progress bar over its ``total`` batches."""

    def __init__(self, dataset, total_images: int, batch_size: int, desc: str, disable: bool = False):
        self.dataset = dataset
        self.total = math.ceil(total_images / batch_size) if batch_size else None
        self.desc = desc
        self.disable = disable

    def __iter__(self):
        from tqdm import tqdm

        with tqdm(total=self.total, desc=self.desc, unit="batch", disable=self.disable, leave=False) as bar:
            for batch in self.dataset:
                yield batch
                bar.update(1)
