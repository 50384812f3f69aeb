"""Round 10 blind mutants (issue 34): written from dsan_tf/ alone, before reading the tests.

Blind: the writer read only the dsan_tf/ sources and the earlier mutant files (tests/mutation/mutants*.py,
to avoid repeating a (file, old) pair or the same change of a line); it never opened tests/test_*.py,
tests/conftest.py, docs/ or the tests' history, and chose each mutant's test files by their names alone
(``ls tests/``), as a reviewer would. Nothing was run but ``run.py --check``; the score is the lead's.

Forty plausible one-line bugs over the user-facing areas: the output policy (outputs.py; every line of
io_utils.py already had a mutant), calibration and greying of faces (calibration.py, inference.py), export
and its grey conversion (export.py, cli/export_tflite.py, cli/export_savedmodel.py, cli/client.py), the
Python API (api.py), CLI exit codes and streams (cli/__init__.py, cli/predict.py), data label rules
(data/ferplus.py, rafdb.py, affectnet.py, folder.py, subsets.py), resume (runner.py, training.py),
progress (progress.py), pixel checks (pixels.py), alignment geometry (data/align.py), and benchmark and
real-time accounting (benchmark.py, realtime.py, cli/bench_realtime.py).

Kinds: boundaries and any/all (``inside.all`` -> ``any``), inverted branches and tests (reflection sign,
``skip_unreadable``, ``has_checkpoint``), swapped arguments or values (resume position, parents test,
best-step ratio, x/y scale), keyword arguments not passed on (``grayscale``), wrong defaults (an old run's
``teacher_weight``), refusals weakened (unchecked pixels, extra CSV fields, labels-file mismatch, unwritable
folder), wrong units (ms vs s), wrong keys or fields (``mff_logits``, ``epochs`` for ``steps``, accuracy for
agreement, ``group(0)``), wrong stream (help on stderr), case (``640X480``), special values (None, unsorted
set order, 0 vs None for no frames) and off-by-one naming.
"""

OUT = ("tests/test_output_policy.py", "tests/test_write_primitives.py")
CAL = ("tests/test_calibration.py",)
PRED = ("tests/test_predict.py",)
EXP = ("tests/test_export.py",)
TFL = ("tests/test_export_tflite.py",)
CLIENT = ("tests/test_export_client.py", "tests/test_client_replies.py")
API = ("tests/test_api.py",)
EXIT = ("tests/test_exit_statuses.py", "tests/test_cli.py")
FER = ("tests/test_data_ferplus.py",)
READ = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
SUB = ("tests/test_data_subsets.py",)
RESUME = ("tests/test_resume_safety.py", "tests/test_resume_validation.py")
TRAIN = ("tests/test_training.py", "tests/test_resume_safety.py")
PROG = ("tests/test_training.py", "tests/test_run.py")
PIX = ("tests/test_pixels.py",)
ALIGN = ("tests/test_align.py", "tests/test_geometry_properties.py")
RT = ("tests/test_realtime.py", "tests/test_accounting.py")
BENCH = ("tests/test_bench_against_torch.py", "tests/test_accounting.py")

FRESH_ROUND10 = [
    # ---- output policy (dsan_tf/outputs.py; io_utils.py has no unused line left)
    dict(name="r10-outputs-read-access-for-write", file="dsan_tf/outputs.py",
         old="if not os.access(existing, os.W_OK | os.X_OK):", new="if not os.access(existing, os.R_OK | os.X_OK):",
         tests=OUT,
         why="an output under a read-only folder passes the check before work: the command runs for minutes "
             "and then fails with a permission error instead of refusing at once"),
    dict(name="r10-outputs-file-flag-folder-check-inverted", file="dsan_tf/outputs.py",
         old="    if not folder and path.is_dir():", new="    if folder and path.is_dir():", tests=OUT,
         why="--output naming an existing folder where a file is expected is accepted (and an existing output "
             "folder is refused as 'a folder')"),
    dict(name="r10-outputs-dead-writer-counted-alive", file="dsan_tf/outputs.py",
         old="    except ProcessLookupError:\n        return False",
         new="    except ProcessLookupError:\n        return True", tests=OUT,
         why="temporaries left beside an output by a killed writer (kill -9, power loss) are taken for a live "
             "writer's and never cleaned: hidden .NAME.PID.xxxx files pile up beside every output"),
    # ---- calibration and greying of faces
    dict(name="r10-calibration-priors-branch-inverted", file="dsan_tf/calibration.py",
         old="    if labels.ndim == 2:", new="    if labels.ndim == 1:", tests=CAL,
         why="integer labels are summed as if soft targets (and soft targets bincounted): class priors, hence "
             "the prior correction, are wrong or refused"),
    dict(name="r10-inference-predict-pixels-grayscale-not-passed", file="dsan_tf/inference.py",
         old="        if self.uses_grey(grayscale):\n            pixels = grey_pixels(pixels)",
         new="        if self.uses_grey():\n            pixels = grey_pixels(pixels)", tests=PRED + API,
         why="predict_pixels(..., grayscale=True/False) ignores the argument: a colour model is never given grey "
             "pixels and a grey one always is"),
    dict(name="r10-inference-predict-image-grayscale-from-model", file="dsan_tf/inference.py",
         old="    grayscale = predictor.uses_grey(grayscale)", new="    grayscale = predictor.grayscale_input",
         tests=PRED,
         why="dsan predict --no-grayscale/--grayscale is ignored on photos: the model's recorded setting wins"),
    dict(name="r10-inference-savedmodel-labels-mismatch-kept", file="dsan_tf/inference.py",
         old="            if not self.class_names or len(self.class_names) != k:",
         new="            if not self.class_names:", tests=PRED + EXP,
         why="a SavedModel whose labels.txt names fewer or more classes than its output keeps the wrong list: "
             "faces are labelled with shifted names or an index error"),
    # ---- export and its grey conversion
    dict(name="r10-export-gfe-from-mff-logits", file="dsan_tf/export.py",
         old='out = model32(x, training=False)\n        probabilities = tf.cast(out["probabilities"], tf.float32)\n'
             '        gfe = tf.nn.softmax(tf.cast(out["gfe_logits"], tf.float32))',
         new='out = model32(x, training=False)\n        probabilities = tf.cast(out["probabilities"], tf.float32)\n'
             '        gfe = tf.nn.softmax(tf.cast(out["mff_logits"], tf.float32))', tests=EXP,
         why="the SavedModel's gfe_probabilities are the MFF stream's: the two stream outputs are identical"),
    dict(name="r10-export-predict-pixels-unchecked", file="dsan_tf/export.py",
         old="        pixels = assert_pixels(pixels)\n", new="        pixels = tf.cast(pixels, tf.float32)\n",
         tests=EXP + PIX,
         why="the SavedModel's predict_pixels answers NaN or 1e30 pixels with a confident class instead of "
             "HTTP 400 / INVALID_ARGUMENT"),
    dict(name="r10-export-tflite-agreement-against-labels", file="dsan_tf/cli/export_tflite.py",
         old='agreement = float((ids[name] == ids["reference"]).mean())',
         new='agreement = float((ids[name] == labels).mean())', tests=TFL,
         why="'top-1 agreement' is the converted model's accuracy: a model that agrees perfectly with the "
             "SavedModel fails the 99 % threshold (exit 1)"),
    dict(name="r10-client-extra-labels-accepted", file="dsan_tf/cli/client.py",
         old="    if len(labels) != k:", new="    if len(labels) < k:", tests=CLIENT,
         why="a --labels file with more names than the model has classes (another model's) is accepted and "
             "faces are named from the wrong list"),
    dict(name="r10-export-savedmodel-input-inside-target-swapped", file="dsan_tf/cli/export_savedmodel.py",
         old="        if target.resolve() in item.resolve().parents:",
         new="        if item.resolve() in target.resolve().parents:", tests=EXP,
         why="--overwrite of a version folder that holds the weights or a warmup image is not refused: the "
             "export deletes its own input"),
    # ---- Python API
    dict(name="r10-api-batch-probabilities-not-offset", file="dsan_tf/api.py",
         old="for f, p in zip(found, probabilities[start:start + len(found)])",
         new="for f, p in zip(found, probabilities[:len(found)])", tests=API,
         why="predict_batch gives every photo the probabilities of the first photo's faces"),
    dict(name="r10-api-grey-array-new-axis-first", file="dsan_tf/api.py",
         old="        image = image[..., None]", new="        image = image[None, ...]", tests=API,
         why="a 2-D grey uint8 array becomes (1, H, W) and is refused (or misread when W is 3) instead of "
             "being repeated to RGB"),
    dict(name="r10-api-batch-error-names-image-from-1", file="dsan_tf/api.py",
         old='to_rgb_image(im, f"image {i}" if len(images) > 1 else None)',
         new='to_rgb_image(im, f"image {i + 1}" if len(images) > 1 else None)', tests=API,
         why="the error for a bad image in predict_batch names the next image (counts from 1 where the "
             "Python list counts from 0): the user looks at the wrong one"),
    # ---- CLI exit codes and streams
    dict(name="r10-cli-help-to-stderr", file="dsan_tf/cli/__init__.py",
         old="            sys.stdout.write(help_text())\n            return 0",
         new="            sys.stderr.write(help_text())\n            return 0", tests=EXIT,
         why="dsan --help writes to stderr: 'dsan --help | less' shows nothing"),
    dict(name="r10-predict-truncated-video-counted-unreadable", file="dsan_tf/cli/predict.py",
         old='                counts["truncated"] += 1', new='                counts["unreadable"] += 1',
         tests=EXIT + PRED,
         why="a truncated video no longer makes dsan predict exit 1 (and the summary calls it unreadable)"),
    dict(name="r10-predict-skip-unreadable-inverted", file="dsan_tf/cli/predict.py",
         old="            if not args.skip_unreadable:", new="            if args.skip_unreadable:",
         tests=EXIT + PRED,
         why="without --skip-unreadable a damaged photo becomes a row and exit 0; with it, the command stops"),
    # ---- data label rules
    dict(name="r10-ferplus-majority-keeps-unknown-winner", file="dsan_tf/data/ferplus.py",
         old="        keep = has_majority & emotion_winner", new="        keep = has_majority", tests=FER,
         why="FERPlus images whose majority is 'unknown' or 'not a face' are kept, labelled contempt "
             "(np.minimum(winner, 7))"),
    dict(name="r10-rafdb-split-from-last-part", file="dsan_tf/data/rafdb.py",
         old='split = name.split("_", 1)[0]', new='split = name.rsplit("_", 1)[0]', tests=READ,
         why="'train_00001.jpg' gives split 'train' but 'test_0003_aligned.jpg' gives 'test_0003': valid RAF-DB "
             "label files with suffixed names are refused"),
    dict(name="r10-affectnet-extra-fields-accepted", file="dsan_tf/data/affectnet.py",
         old="            if len(row) != len(COLUMNS):", new="            if len(row) < len(COLUMNS):", tests=READ,
         why="an AffectNet CSV row with extra fields (a shifted or wrong file) is read instead of refused"),
    dict(name="r10-folder-class-order-unsorted", file="dsan_tf/data/folder.py",
         old="        class_names = tuple(sorted(names))", new="        class_names = tuple(names)", tests=READ,
         why="class names come in set order, which changes between processes: labels of a folder dataset "
             "differ between training and evaluation"),
    dict(name="r10-subsets-whole-match-as-name", file="dsan_tf/data/subsets.py",
         old="            return m.group(1)\n", new="            return m.group(0)\n", tests=SUB,
         why="FERPlus/RAF-DB list lines yield the whole line ('1_fer0034656.png 8 0') as the name: nothing "
             "matches the table"),
    # ---- resume
    dict(name="r10-runner-teacher-weight-old-default", file="dsan_tf/runner.py",
         old='"teacher_weight": 0.5}', new='"teacher_weight": 0.3}', tests=RESUME,
         why="a run recorded before teacher_weight existed is compared as if made with 0.3: its --resume is "
             "refused for a change the user never made"),
    dict(name="r10-runner-resume-without-checkpoint-inverted", file="dsan_tf/runner.py",
         old="    if not has_checkpoint(output_dir):\n        log.warning",
         new="    if has_checkpoint(output_dir):\n        log.warning", tests=RESUME,
         why="--resume of a run with checkpoints starts it over and deletes its history.csv"),
    dict(name="r10-training-epoch-end-saved-as-same-epoch", file="dsan_tf/training.py",
         old="            state.save(epoch + 1, 0)\n", new="            state.save(epoch, 0)\n", tests=TRAIN,
         why="a finished epoch is checkpointed as its own start: --resume trains it again (and the run gets "
             "one epoch too many)"),
    dict(name="r10-training-resume-position-swapped", file="dsan_tf/training.py",
         old="        start_epoch, start_step = position", new="        start_step, start_epoch = position",
         tests=TRAIN,
         why="--resume takes the checkpoint's step for its epoch and the epoch for its step: it continues at "
             "the wrong epoch and skips the wrong batches"),
    # ---- progress
    dict(name="r10-progress-seconds-in-ms", file="dsan_tf/progress.py",
         old='parts.append(f"{seconds:.0f} s")', new='parts.append(f"{seconds * 1000:.0f} s")', tests=PROG,
         why="the epoch line reports milliseconds labelled 's': a 2-minute epoch shows '120000 s'"),
    dict(name="r10-progress-epochs-none-shown", file="dsan_tf/progress.py",
         old='of = f"/{epochs}" if epochs else ""', new='of = f"/{epochs}"', tests=PROG,
         why="when the epoch count is unknown the line reads 'epoch 3/None'"),
    dict(name="r10-progress-bar-total-epochs", file="dsan_tf/progress.py",
         old='steps = (self.params or {}).get("steps")', new='steps = (self.params or {}).get("epochs")',
         tests=PROG,
         why="the progress bar's total is the epoch count, not the epoch's steps: it overruns at once"),
    # ---- pixel checks
    dict(name="r10-pixels-range-any-image", file="dsan_tf/pixels.py",
         old="    if not inside.all():", new="    if not inside.any():", tests=PIX,
         why="a batch with one out-of-range image among good ones is accepted: that image gets a "
             "confident-looking answer"),
    dict(name="r10-pixels-finite-any-image", file="dsan_tf/pixels.py",
         old="    if not finite.all():", new="    if not finite.any():", tests=PIX,
         why="a NaN image among finite ones is reported as 'outside the range', not as NaN or Inf"),
    dict(name="r10-pixels-message-min-is-max", file="dsan_tf/pixels.py",
         old="min {float(flat.min()):g}", new="min {float(flat.max()):g}", tests=PIX,
         why="the out-of-range error reports the maximum as the minimum: a negative value is hidden"),
    # ---- alignment geometry
    dict(name="r10-align-reflection-test-inverted", file="dsan_tf/data/align.py",
         old="if np.linalg.det(u) * np.linalg.det(vt) < 0:", new="if np.linalg.det(u) * np.linalg.det(vt) > 0:",
         tests=ALIGN,
         why="the similarity transform flips its weakest axis when no reflection is needed: aligned crops are "
             "mirrored or distorted"),
    dict(name="r10-align-translation-without-scale", file="dsan_tf/data/align.py",
         old="matrix[:, 2] = dst_mean - scale * rotation @ src_mean",
         new="matrix[:, 2] = dst_mean - rotation @ src_mean", tests=ALIGN,
         why="the translation ignores the scale: faces land off-centre in their crops except at scale 1"),
    dict(name="r10-align-rescaled-height-x-scale", file="dsan_tf/data/align.py",
         old="w * scale_x, h * scale_y)", new="w * scale_x, h * scale_x)", tests=ALIGN,
         why="a detection on the shrunken copy gets its box height scaled by the x factor: wrong boxes in "
             "the full image when the shrink is not uniform"),
    # ---- benchmark and real-time accounting
    dict(name="r10-realtime-cpu-ms-in-seconds", file="dsan_tf/realtime.py",
         old="cpu_ms = round(1e3 * cpu / max(report.frames, 1), 2)", new="cpu_ms = round(cpu / max(report.frames, 1), 2)",
         tests=RT,
         why="cpu_ms_per_frame is in seconds (rounded to 0.0): the benchmark's CPU column reads zero"),
    dict(name="r10-realtime-rate-no-frames-none", file="dsan_tf/realtime.py",
         old="        if not self.frames:\n            return 0.0", new="        if not self.frames:\n            return None",
         tests=RT,
         why="a stream with no frame reports frames/s null (unmeasurable) instead of 0"),
    dict(name="r10-benchmark-best-ratio-inverted", file="dsan_tf/benchmark.py",
         old='d[f"{kind}_images_per_s_best"] / b[f"{kind}_images_per_s_best"]',
         new='b[f"{kind}_images_per_s_best"] / d[f"{kind}_images_per_s_best"]', tests=BENCH,
         why="the best-step DSAN/baseline ratio is inverted: a slower DSAN looks faster"),
    dict(name="r10-bench-realtime-size-case", file="dsan_tf/cli/bench_realtime.py",
         old='text.lower().split("x")', new='text.split("x")', tests=RT + ("tests/test_cli.py",),
         why="dsan bench realtime --size 640X480 is refused"),
]
