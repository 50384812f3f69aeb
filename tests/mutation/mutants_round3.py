"""Round 3 blind mutants (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an existing mutant's were dropped.
The lead converts these dicts to ``Mutant``s.
"""

OUTPUTS = ("tests/test_output_policy.py", "tests/test_write_primitives.py")
STATE = ("tests/test_state_files.py",)
FLAGS = ("tests/test_flags.py", "tests/test_validator_properties.py")
CLI = ("tests/test_cli.py", "tests/test_exit_statuses.py")
CLIENT = ("tests/test_client_replies.py", "tests/test_export_client.py")
FERPLUS = ("tests/test_data_ferplus.py", "tests/test_reader_refusals.py")
READERS = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
ALIGN = ("tests/test_align.py", "tests/test_geometry_properties.py")
RUN = ("tests/test_run.py", "tests/test_resume_validation.py")
TRAINING = ("tests/test_training.py", "tests/test_resume_safety.py")
REALTIME = ("tests/test_realtime.py", "tests/test_accounting.py")

FRESH_ROUND3 = [
    # ------------------------------------------------------------------ output policy, file writing (5)
    dict(name="r3-outputs-inside-input-check-reversed", file="dsan_tf/outputs.py",
         old="if item.is_dir() and source in target.parents:",
         new="if item.is_dir() and target in source.parents:",
         tests=OUTPUTS,
         why="the containment test is turned round: an output inside an input folder is accepted, so a "
             "command writes among (and may replace) the files it reads."),
    dict(name="r3-outputs-overwrite-needs-listed-too", file="dsan_tf/outputs.py",
         old="if os.path.lexists(path) and not (self.overwrite or listed):",
         new="if os.path.lexists(path) and not (self.overwrite and listed):",
         tests=OUTPUTS,
         why="'or' written 'and': --overwrite no longer lets an existing file be replaced, and a rerun "
             "refuses its own listed outputs unless --overwrite is also given."),
    dict(name="r3-outputs-stale-temps-of-live-writers", file="dsan_tf/outputs.py",
         old="if match and not _process_alive(int(match.group(1))):",
         new="if match and _process_alive(int(match.group(1))):",
         tests=OUTPUTS,
         why="inverted liveness test: temporaries of killed writers pile up forever while a concurrent "
             "live writer's temporary is deleted under it."),
    dict(name="r3-outputs-publish-folder-holding-input", file="dsan_tf/outputs.py",
         old="if target == source or target in source.parents:",
         new="if target == source or source in target.parents:",
         tests=OUTPUTS,
         why="publish_folder checks the wrong direction: a --output folder that holds an input is swapped "
             "out and deleted, input included."),
    dict(name="r3-io_utils-read-json-object-drops-hint", file="dsan_tf/io_utils.py",
         old="return read_json_state(path, dict, hint=hint)",
         new="return read_json_state(path, dict)",
         tests=OUTPUTS,
         why="the caller's hint is not passed on: a damaged JSON file's error says what is wrong but no "
             "longer what to do about it."),
    # ------------------------------------------------------------------ state files (3)
    dict(name="r3-state_files-optional-key-prefix", file="dsan_tf/state_files.py",
         old='optional = key.endswith("?")',
         new='optional = key.startswith("?")',
         tests=STATE,
         why="optional schema keys ('versions?') are read as required keys named with the '?': every "
             "config.json and export settings file is refused as missing a key."),
    dict(name="r3-state_files-int-accepts-bool", file="dsan_tf/state_files.py",
         old="if isinstance(value, bool) or not isinstance(value, int):",
         new="if not isinstance(value, int):",
         tests=STATE,
         why="bool is an int in Python: a state file holding true where an integer (image_size, class_id) "
             "belongs passes the schema and is used as 1."),
    dict(name="r3-state_files-closed-bound-swapped", file="dsan_tf/state_files.py",
         old="below = value <= low if low_open else value < low if low is not None else False",
         new="below = value < low if low_open else value <= low if low is not None else False",
         tests=STATE,
         why="open and closed lower bounds swapped: a closed range refuses its own minimum "
             "(min_confidence=0, batch_size=1) and an open one accepts it."),
    # ------------------------------------------------------------------ command line (7)
    dict(name="r3-validators-int-maximum-excluded", file="dsan_tf/cli/validators.py",
         old="return value if self.minimum <= value <= self.maximum else None",
         new="return value if self.minimum <= value < self.maximum else None",
         tests=FLAGS,
         why="off by one: every integer flag refuses its documented maximum (--align-size 1024, "
             "--camera 1000)."),
    dict(name="r3-validators-probability-open-at-one", file="dsan_tf/cli/validators.py",
         old="probability = _Float(0.0, 1.0)",
         new="probability = _Float(0.0, 1.0, open_high=True)",
         tests=FLAGS,
         why="a probability flag refuses 1 (--min-confidence 1, --random-erasing 1), against its "
             "documented closed range [0, 1]."),
    dict(name="r3-cli-usererror-status-ignored", file="dsan_tf/cli/__init__.py",
         old="return exc.status if exc.status is not None else error_status",
         new="return error_status",
         tests=CLI,
         why="a UserError's own documented exit status is dropped: every user error exits 2, so scripts "
             "cannot tell the documented cases apart."),
    dict(name="r3-cli-argument-error-exit-1", file="dsan_tf/cli/__init__.py",
         old='self.exit(2, f"{self.prog}: error:',
         new='self.exit(1, f"{self.prog}: error:',
         tests=CLI,
         why="argument errors exit 1 (an internal error's status) instead of argparse's documented 2."),
    dict(name="r3-client-exit-statuses-3-4-swapped", file="dsan_tf/cli/client.py",
         old="EXIT_OK, EXIT_SERVER, EXIT_INPUT, EXIT_UNREACHABLE, EXIT_NOT_FOUND = 0, 1, 2, 3, 4",
         new="EXIT_OK, EXIT_SERVER, EXIT_INPUT, EXIT_UNREACHABLE, EXIT_NOT_FOUND = 0, 1, 2, 4, 3",
         tests=CLIENT,
         why="'server unreachable' and 'model not found' exit with each other's documented status: a "
             "script retries a typo'd model name for ever."),
    dict(name="r3-calibrate-mirror-wrong-axis", file="dsan_tf/cli/calibrate.py",
         old="tf.reverse(images, axis=[2])",
         new="tf.reverse(images, axis=[1])",
         tests=("tests/test_calibration.py",),
         why="the 'mirrored' faces are flipped upside down (NHWC height axis): the flip-averaging rows "
             "of the calibration table score the wrong thing."),
    dict(name="r3-export_tflite-status-always-0", file="dsan_tf/cli/export_tflite.py",
         old="return 0 if ok else 1",
         new="return 0",
         tests=("tests/test_export_tflite.py",),
         why="a TFLite model below its agreement threshold still exits 0: CI ships a broken conversion."),
    # ------------------------------------------------------------------ inference, API, pixels, calibration (7)
    dict(name="r3-pixels-names-the-good-images", file="dsan_tf/pixels.py",
         old='images = ", ".join(str(i) for i in np.flatnonzero(~finite)[:10])',
         new='images = ", ".join(str(i) for i in np.flatnonzero(finite)[:10])',
         tests=("tests/test_pixels.py", "tests/test_predict.py"),  # test_pixels.py made after the first pass
         why="the NaN/Inf refusal names the images that are fine instead of the bad ones."),
    dict(name="r3-calibration-empty-class-prior", file="dsan_tf/calibration.py",
         old="if counts.shape != (num_classes,) or (counts <= 0).any():",
         new="if counts.shape != (num_classes,) or (counts < 0).any():",
         tests=("tests/test_calibration.py",),
         why="a class with no training example is not refused with the count table: its prior is 0 and "
             "the correction fails later as NaN factors, naming no class."),
    dict(name="r3-inference-lowest-savedmodel-version", file="dsan_tf/inference.py",
         old="return versions[-1][1]",
         new="return versions[0][1]",
         tests=("tests/test_predict.py", "tests/test_export.py"),
         why="a TF Serving base folder resolves to its oldest version instead of the highest: predictions "
             "come from a stale model."),
    dict(name="r3-inference-video-suffix-case", file="dsan_tf/inference.py",
         old="return Path(path).suffix.lower() in VIDEO_EXTENSIONS",
         new="return Path(path).suffix in VIDEO_EXTENSIONS",
         tests=("tests/test_predict.py",),
         why="a camera's CLIP.MP4 is not recognised as a video (upper-case suffix) and is read as an "
             "image, which fails."),
    dict(name="r3-api-batch-offset-per-photo", file="dsan_tf/api.py",
         old="start += len(found)",
         new="start += 1",
         tests=("tests/test_api.py",),
         why="predict_batch advances one row per photo, not one per face: with a photo of two faces or "
             "none, later photos get other faces' probabilities."),
    dict(name="r3-api-min-confidence-one-refused", file="dsan_tf/api.py",
         old='require_in_range(min_confidence, "min_confidence", 0, 1)',
         new='require_in_range(min_confidence, "min_confidence", 0, 1, high_open=True)',
         tests=("tests/test_api.py",),
         why="the Python API refuses min_confidence=1.0, which dsan predict's --min-confidence accepts."),
    dict(name="r3-api-rgba-array-refused", file="dsan_tf/api.py",
         old="if image.ndim != 3 or image.shape[2] not in (1, 3, 4) or 0 in image.shape[:2]:",
         new="if image.ndim != 3 or image.shape[2] not in (1, 3) or 0 in image.shape[:2]:",
         tests=("tests/test_api.py",),
         why="an H x W x 4 (RGBA) array, documented as accepted with its alpha dropped, is refused."),
    # ------------------------------------------------------------------ export (3)
    dict(name="r3-export-config-drops-old-versions", file="dsan_tf/export.py",
         old="served = sorted(keep | {int(v) for v in versions})",
         new="served = sorted({int(v) for v in versions})",
         tests=("tests/test_export.py",),
         why="each export rewrites models.config to serve only the new version: versions clients pin "
             "(and their labels) vanish from TF Serving."),
    dict(name="r3-export-tflite-no-round", file="dsan_tf/export.py",
         old="pixels = tf.clip_by_value(tf.round(pixels), 0.0, 255.0)",
         new="pixels = tf.clip_by_value(pixels, 0.0, 255.0)",
         tests=("tests/test_export_tflite.py",),
         why="the TFLite graph drops the training pipeline's rounding: float inputs give slightly different "
             "answers from predict_pixels."),
    dict(name="r3-export-enqueued-batches-default", file="dsan_tf/export.py",
         old="message.max_enqueued_batches.value = int(max_enqueued_batches or num_batch_threads)",
         new="message.max_enqueued_batches.value = int(max_enqueued_batches or max_batch_size)",
         tests=("tests/test_export.py",),
         why="wrong default: max_enqueued_batches follows the batch size (32) instead of the thread count, "
             "so TF Serving queues 8x more and latency grows under load."),
    # ------------------------------------------------------------------ data (8)
    dict(name="r3-ferplus-public-private-swapped", file="dsan_tf/data/ferplus.py",
         old='USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "valid", "PrivateTest": "test"}',
         new='USAGE_TO_SPLIT = {"Training": "train", "PublicTest": "test", "PrivateTest": "valid"}',
         tests=FERPLUS,
         why="the raw CSV's PublicTest and PrivateTest are swapped: test results are reported on the "
             "validation images."),
    dict(name="r3-rafdb-label-not-shifted", file="dsan_tf/data/rafdb.py",
         old="rows.append((split, name, int(label) - 1, line_no))",
         new="rows.append((split, name, int(label), line_no))",
         tests=READERS,
         why="RAF-DB's 1-based labels are used as 0-based: every class is shifted by one and label 7 "
             "crashes the one-hot."),
    dict(name="r3-folder-hidden-class-folders", file="dsan_tf/data/folder.py",
         old='return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))',
         new="return sorted(p for p in path.iterdir() if p.is_dir())",
         tests=READERS,
         why="hidden folders (.ipynb_checkpoints, .git) become classes of a folder-per-class dataset."),
    dict(name="r3-images-suffix-case", file="dsan_tf/data/images.py",
         old="if path.suffix.lower() in suffixes:",
         new="if path.suffix in suffixes:",
         tests=READERS,
         why="IMG_0001.JPG is skipped as 'not an image': folders from cameras lose all their photos."),
    dict(name="r3-preprocess-crop-uses-height-for-width", file="dsan_tf/data/preprocess.py",
         old="x1 = tf.clip_by_value(box[0] + box[2], 0, width)",
         new="x1 = tf.clip_by_value(box[0] + box[3], 0, width)",
         tests=("tests/test_data_preprocess.py",),
         why="the crop's right edge uses the box height: AffectNet's non-square boxes are cropped too "
             "wide or too narrow."),
    dict(name="r3-pipeline-flip-follows-crop-flag", file="dsan_tf/data/pipeline.py",
         old="flip = (u[:, 2] < 0.5) if config.horizontal_flip else",
         new="flip = (u[:, 2] < 0.5) if config.random_crop else",
         tests=("tests/test_data_pipeline.py",),
         why="the flip is switched by the crop flag: --no-horizontal-flip still flips, and turning the crop "
             "off silently turns flipping off."),
    dict(name="r3-align-min-face-size-on-long-side", file="dsan_tf/data/align.py",
         old="if f.confidence >= self.min_confidence and min(f.box[2], f.box[3]) >= self.min_face_size]",
         new="if f.confidence >= self.min_confidence and max(f.box[2], f.box[3]) >= self.min_face_size]",
         tests=ALIGN,
         why="--min-face-size is tested on the longer box side, not the shorter one as documented: thin "
             "false detections below the minimum are kept."),
    dict(name="r3-align-clash-case-sensitive", file="dsan_tf/data/align.py",
         old="seen.setdefault((path.parent, path.stem.lower()), []).append(path)",
         new="seen.setdefault((path.parent, path.stem), []).append(path)",
         tests=ALIGN,
         why="A.jpg and a.png are not seen as clashing: on a case-insensitive file "
             "system both crops go to one name and one is lost."),
    # ------------------------------------------------------------------ training, model (7)
    dict(name="r3-ema-no-warmup", file="dsan_tf/ema.py",
         old="WARMUP = 10.0",
         new="WARMUP = 1.0",
         tests=("tests/test_ema.py",),
         why="wrong constant: (1 + n) / (1 + n) = 1, so d_n = d from the first step and a short run's EMA "
             "is mostly its initial weights."),
    dict(name="r3-losses-alpha-swapped", file="dsan_tf/losses.py",
         old="return alpha * fr + (1.0 - alpha) * ce",
         new="return alpha * ce + (1.0 - alpha) * fr",
         tests=("tests/test_losses.py",),
         why="Eq. 11's weights are swapped between the two streams' losses: alpha weighs MFF-AN's loss."),
    dict(name="r3-layers-class-scale-not-renormalised", file="dsan_tf/layers.py",
         old="return scaled / ops.sum(scaled, axis=-1, keepdims=True)",
         new="return scaled",
         tests=("tests/test_layers.py",),
         why="the prior-corrected probabilities are not renormalised: they no longer sum to 1 "
             "(the argmax is unchanged, so only the probabilities are wrong)."),
    dict(name="r3-model-variant-alpha-swapped", file="dsan_tf/model.py",
         old='VARIANT_ALPHA = {"gfe": 1.0, "mff": 0.0}',
         new='VARIANT_ALPHA = {"gfe": 0.0, "mff": 1.0}',
         tests=("tests/test_model.py",),
         why="the single-stream variants get the other stream's alpha: gfe and mff fuse their only "
             "stream with weight 0 and train on a zero loss."),
    dict(name="r3-training-last-step-not-finished", file="dsan_tf/training.py",
         old="self.epoch_finished = steps is not None and batch + 1 >= steps",
         new="self.epoch_finished = steps is not None and batch >= steps",
         tests=TRAINING,
         why="off by one: the epoch's last step is not seen as its end, so Ctrl-C there interrupts instead of "
             "finishing the epoch and its checkpoint is not marked as a trained epoch."),
    dict(name="r3-training-oldest-checkpoint-first", file="dsan_tf/training.py",
         old="return sorted(numbers, reverse=True)",
         new="return sorted(numbers)",
         tests=TRAINING,
         why="checkpoints are tried oldest first: --resume restores the older of the kept checkpoints and "
             "repeats steps."),
    dict(name="r3-runner-grayscale-inverted", file="dsan_tf/runner.py",
         old='grayscale_input=settings["dataset"] == "ferplus",',
         new='grayscale_input=settings["dataset"] != "ferplus",',
         tests=RUN,
         why="inverted condition: FERPlus models are recorded as colour models and RAF-DB ones as grey, so "
             "inference greys the wrong models' faces."),
    # ------------------------------------------------------------------ realtime, tracking, benchmark (6)
    dict(name="r3-tracking-drop-track-one-early", file="dsan_tf/tracking.py",
         old="self.tracks = [t for t in self.tracks if t.missed <= self.max_missed]",
         new="self.tracks = [t for t in self.tracks if t.missed < self.max_missed]",
         tests=("tests/test_realtime.py",),
         why="off by one: a track is dropped after max_missed misses instead of more than max_missed, and "
             "max_missed=0 drops every track at its first miss."),
    dict(name="r3-tracking-smoother-window-short", file="dsan_tf/tracking.py",
         old="history = self._history.setdefault(track_id, collections.deque(maxlen=self.window))",
         new="history = self._history.setdefault(track_id, collections.deque(maxlen=self.window - 1))",
         tests=("tests/test_realtime.py",),
         why="--smooth N averages over N - 1 frames: --smooth 2 smooths nothing."),
    dict(name="r3-realtime-faces-per-s-counts-frames", file="dsan_tf/realtime.py",
         old='return round(count / self.wall_s, 3) if self.wall_s > 0 else None',
         new='return round(self.frames / self.wall_s, 3) if self.wall_s > 0 else None',
         tests=REALTIME,
         why="copy-paste: faces/s reports frames/s, wrong for any scene with more than one face."),
    dict(name="r3-realtime-ms-per-face-divides-by-frames", file="dsan_tf/realtime.py",
         old='"classification_ms_per_face": round(1e3 * self.classify_s / max(self.faces, 1), 2),',
         new='"classification_ms_per_face": round(1e3 * self.classify_s / max(self.frames, 1), 2),',
         tests=REALTIME,
         why="classification time per face is divided by the frame count: it reports ms per frame."),
    dict(name="r3-live_detection-proposal-short-side", file="dsan_tf/live_detection.py",
         old="side = max(w, h)",
         new="side = min(w, h)",
         tests=("tests/test_realtime.py",),
         why="ONet refit proposals are squares of the shorter side: tall face boxes are cut and refits "
             "lose faces."),
    dict(name="r3-benchmark-best-uses-slowest", file="dsan_tf/benchmark.py",
         old='"images_per_s_best": args.batch_size / min(wall),',
         new='"images_per_s_best": args.batch_size / max(wall),',
         tests=("tests/test_bench_against_torch.py",),
         why="the 'best' throughput against PyTorch is computed from the slowest step."),
    # ------------------------------------------------------------------ explain, plots (2)
    dict(name="r3-explain-peak-row-cell-corner", file="dsan_tf/explain.py",
         old='"peak_row": float((rows.mean() + 0.5) / h)',
         new='"peak_row": float(rows.mean() / h)',
         tests=("tests/test_explain.py",),
         why="the peak row is the hottest cell's top edge, not its centre: half a cell too high "
             "(a 3x3 map's centre cell reads 0.33, not 0.5)."),
    dict(name="r3-plots-history-keeps-partial-row", file="dsan_tf/plots.py",
         old='log = log.drop_duplicates("epoch", keep="last")',
         new='log = log.drop_duplicates("epoch", keep="first")',
         tests=("tests/test_plots.py",),
         why="a resumed epoch's curves show the partial row written before the interruption, not the row "
             "that finished the epoch."),
]
