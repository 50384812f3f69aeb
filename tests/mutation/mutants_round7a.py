"""Round 7 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped;
every ``old`` is a line no earlier round touched (distillation and teacher-labels had no mutant before).

First pass (2026-12-07, ``nice -n 19 python tests/mutation/run.py --only <these> --no-baseline --jobs 1
--nice 19``, 17.8 min on the shared two cores): **29/34 killed (85 %)**. Per module: calibration 1/1,
cli/__init__ 3/3, cli/calibrate 2/2, cli/teacher_labels 1/2, cli/validators 3/3, distillation 4/4,
io_utils 0/1, outputs 3/5, progress 2/2, runner 2/2, state_files 3/4, training 5/5. Survivors:

- r7-outputs-overwrite-lets-fresh-folder-reuse: reuse=False was tested only without --overwrite (no command
  passes reuse=False today, but the API documents "only a new or empty one");
- r7-outputs-damaged-marker-counts-as-none: the damaged markers tested lay in folders holding other files,
  refused either way; a folder holding nothing but a damaged marker was never claimed;
- r7-io-os-error-line-drops-file: the boundary's OSError line was checked for its status, not for the
  file it names;
- r7-state-csv-rows-empty-value-allowed: no test passed ``allowed`` to read_csv_rows_state directly;
- r7-teacher-labels-temperature-zero-accepted: test_flags.py probes each flag against its own validator's
  bounds, so a wrong bound passes; no test refused --temperature 0.

None equivalent, no bug in dsan_tf/. Each got a test at the end of a file its selection runs (header
"round 7 blind mutants (issue 34)"): test_output_policy.py (test_reuse_false_refuses_a_marked_folder_even_
with_overwrite, test_a_folder_with_only_a_damaged_marker_is_someones_and_refused), test_exit_statuses.py
(test_an_os_error_is_2_and_its_line_names_the_file), test_state_files.py (test_a_csv_state_field_outside_its_
allowed_values_is_refused_even_when_empty), test_distillation.py (test_teacher_labels_temperature_must_be_
above_0_and_at_most_100). Rerun of the five: 5/5 killed (1.5 min), each by its new test: 34/34.
"""

OUTPUTS = ("tests/test_output_policy.py", "tests/test_write_primitives.py")
IO = ("tests/test_write_primitives.py", "tests/test_exit_statuses.py")
TRAINING = ("tests/test_training.py", "tests/test_resume_safety.py", "tests/test_resume_validation.py")
RUN = ("tests/test_run.py", "tests/test_resume_validation.py", "tests/test_resume_safety.py")
STATE = ("tests/test_state_files.py",)
CLI = ("tests/test_cli.py", "tests/test_exit_statuses.py")
CALIBRATION = ("tests/test_calibration.py",)
FLAGS = ("tests/test_flags.py", "tests/test_validator_properties.py")
DISTIL = ("tests/test_distillation.py",)

FRESH_ROUND7A = [
    # ------------------------------------------------------------------ output policy (4)
    dict(name="r7-outputs-overwrite-lets-fresh-folder-reuse", file="dsan_tf/outputs.py",
         old="            if not reuse:\n",
         new="            if not reuse and not self.overwrite:\n",
         tests=OUTPUTS,
         why="--overwrite lets a command that needs a new or empty folder (reuse=False) write into a folder "
             "already holding its kind of output: the old and new results mix."),
    dict(name="r7-outputs-lock-file-left-behind", file="dsan_tf/outputs.py",
         old="        if self.remove:\n",
         new="        if not self.remove:\n",
         tests=OUTPUTS,
         why="a file's lock .<name>.lock is left beside every output after the command ends (and a folder's "
             "inner lock deleted instead)."),
    dict(name="r7-outputs-listed-file-not-replaceable", file="dsan_tf/outputs.py",
         old="replace=self.overwrite or listed",
         new="replace=self.overwrite",
         tests=OUTPUTS,
         why="a rerun into its own marked folder cannot replace the files the marker lists as its own: the "
             "no-replace rename fails and the rerun reports 'created by another program'."),
    dict(name="r7-outputs-published-name-not-recorded", file="dsan_tf/outputs.py",
         old="record_in_marker(folder[2], relative)\n                    folder[1].add(relative)",
         new="folder[1].add(relative)",
         tests=OUTPUTS,
         why="a published file is not written into the folder's manifest: the next run of the same command "
             "refuses its own earlier file as 'exists'."),
    dict(name="r7-outputs-damaged-marker-counts-as-none", file="dsan_tf/outputs.py",
         old='return "?", "?", set()',
         new="return None",
         tests=OUTPUTS,
         why="an unreadable marker makes the folder count as unmarked: an empty-looking folder with a damaged "
             "marker is taken by any command, instead of being someone's."),
    # ------------------------------------------------------------------ io_utils (1)
    dict(name="r7-io-os-error-line-drops-file", file="dsan_tf/io_utils.py",
         old='name = err.filename if err.filename is not None else ""',
         new='name = ""',
         tests=IO,
         why="an OSError's one line loses the file's name: 'Permission denied' without saying which file."),
    # ------------------------------------------------------------------ state files (4)
    dict(name="r7-state-optional-key-stops-check", file="dsan_tf/state_files.py",
         old="if optional:\n                    continue",
         new="if optional:\n                    break",
         tests=STATE,
         why="a missing optional key ends the schema check: the keys after it (required or not) are never "
             "checked, so a config.json with a wrong evaluation_split passes."),
    dict(name="r7-state-range-closed-high-excludes-bound", file="dsan_tf/state_files.py",
         old="value > high if high is not None else False",
         new="value >= high if high is not None else False",
         tests=STATE,
         why="a closed upper bound refuses its own value: tau = 1.0 or a probability of 1 is 'out of range'."),
    dict(name="r7-state-range-nan-accepted", file="dsan_tf/state_files.py",
         old=' or not math.isfinite(value):\n        raise ArgumentError(f"{name} must be a finite number',
         new=':\n        raise ArgumentError(f"{name} must be a finite number',
         tests=STATE,
         why="NaN passes require_in_range (every comparison with NaN is False): a NaN argument reaches the "
             "model instead of a one-line refusal."),
    dict(name="r7-state-csv-rows-empty-value-allowed", file="dsan_tf/state_files.py",
         old="if row[field] not in options:",
         new="if row[field] not in options and row[field]:",
         tests=STATE,
         why="an empty field where only listed values are allowed (a ledger's status cut by a kill) passes "
             "as valid."),
    # ------------------------------------------------------------------ progress (2)
    dict(name="r7-progress-epoch-line-for-verbose-2", file="dsan_tf/progress.py",
         old="if verbose == 1:",
         new="if verbose >= 1:",
         tests=("tests/test_training.py", "tests/test_cli.py"),
         why="--verbose 2 (Keras' own line per epoch) gets the compact line instead: the documented verbosity "
             "is lost."),
    dict(name="r7-progress-val-accuracy-unguarded", file="dsan_tf/progress.py",
         old='if "val_accuracy" in logs:',
         new='if "accuracy" in logs:',
         tests=("tests/test_training.py", "tests/test_cli.py"),
         why="a run without validation crashes at its first epoch's line (KeyError 'val_accuracy')."),
    # ------------------------------------------------------------------ command line boundary (3)
    dict(name="r7-cli-disk-full-exit-1", file="dsan_tf/cli/__init__.py",
         old='free space and rerun")\n            return error_status',
         new='free space and rerun")\n            return 1',
         tests=CLI,
         why="a full disk met by TensorFlow's writers exits with the internal-error status 1, not the "
             "command's documented one."),
    dict(name="r7-cli-missing-dsan-module-as-dependency", file="dsan_tf/cli/__init__.py",
         old='if debug or (exc.name or "").split(".")[0] == "dsan_tf":',
         new='if debug or (exc.name or "").split(".")[0] == "dsan":',
         tests=CLI,
         why="a missing module of dsan_tf itself (a broken install) is reported as a missing dependency to "
             "reinstall, exit 2, instead of an internal error, exit 1."),
    dict(name="r7-cli-group-help-exit-2", file="dsan_tf/cli/__init__.py",
         old="            sys.stdout.write(help_text(first))\n            return 0",
         new="            sys.stdout.write(help_text(first))\n            return 2",
         tests=CLI,
         why="dsan export --help exits 2 as an error, failing scripts that list the export commands."),
    # ------------------------------------------------------------------ calibration (3)
    dict(name="r7-calibration-flip-average-off", file="dsan_tf/calibration.py",
         old='config["flip_average"] = True',
         new='config["flip_average"] = False',
         tests=CALIBRATION,
         why="with_prior_correction(flip_average=True) gives a model without flip averaging: a calibrated "
             "model saved with --flip-average does not average."),
    dict(name="r7-calibrate-flip-refusal-inverted", file="dsan_tf/cli/calibrate.py",
         old="if args.flip_average and args.apply is None:",
         new="if args.flip_average and args.apply is not None:",
         tests=CALIBRATION,
         why="--flip-average is refused exactly where it belongs (with --apply) and accepted alone, where it "
             "does nothing."),
    dict(name="r7-calibrate-saved-model-never-flips", file="dsan_tf/cli/calibrate.py",
         old="prior_scale(priors, args.apply), flip_average=args.flip_average",
         new="prior_scale(priors, args.apply), flip_average=False",
         tests=CALIBRATION,
         why="dsan calibrate --apply --save --flip-average writes a model without flip averaging (and says "
             "'flip averaging on')."),
    # ------------------------------------------------------------------ flag validators (3)
    dict(name="r7-flags-non-negative-int-from-one", file="dsan_tf/cli/validators.py",
         old="return _Int(0, maximum)",
         new="return _Int(1, maximum)",
         tests=FLAGS,
         why="non_negative_int refuses 0: --checkpoint-every 0 (only at epoch ends) is an error."),
    dict(name="r7-flags-non-negative-float-open", file="dsan_tf/cli/validators.py",
         old="return _Float(0.0, maximum)\n",
         new="return _Float(0.0, maximum, open_low=True)\n",
         tests=FLAGS,
         why="non_negative_float refuses 0: --weight-decay 0 or --lambda1 0 (an ablation) is an error."),
    dict(name="r7-flags-blank-output-name-accepted", file="dsan_tf/cli/validators.py",
         old='if not text.strip() or "\\0" in text:',
         new='if not text or "\\0" in text:',
         tests=FLAGS,
         why="an output name of spaces only is accepted: the command writes a file named ' ' in the current "
             "folder."),
    # ------------------------------------------------------------------ distillation (6)
    dict(name="r7-distil-soften-times-temperature", file="dsan_tf/distillation.py",
         old="/ float(temperature)",
         new="* float(temperature)",
         tests=DISTIL,
         why="the temperature sharpens instead of softening: T = 2 gives p ** 2 renormalised."),
    dict(name="r7-distil-zero-probability-refused", file="dsan_tf/distillation.py",
         old="if (probabilities < 0).any():",
         new="if (probabilities <= 0).any():",
         tests=DISTIL,
         why="a teacher-labels file with a probability of exactly 0 (a one-hot row, an underflow) is refused "
             "as negative."),
    dict(name="r7-distil-row-sum-only-too-large", file="dsan_tf/distillation.py",
         old="off = np.abs(sums - 1) > ROW_SUM_TOLERANCE",
         new="off = sums - 1 > ROW_SUM_TOLERANCE",
         tests=DISTIL,
         why="rows summing to less than 1 (a truncated or mis-scaled file) pass: the student trains on "
             "targets that are not distributions."),
    dict(name="r7-distil-mix-weights-swapped", file="dsan_tf/distillation.py",
         old="(1.0 - weight) * np.asarray(t, dtype=np.float32) + weight * p",
         new="weight * np.asarray(t, dtype=np.float32) + (1.0 - weight) * p",
         tests=DISTIL,
         why="--teacher-weight w weighs the dataset's target by w and the teacher's by 1 - w: 0.9 means "
             "mostly the dataset."),
    dict(name="r7-teacher-labels-first-teacher-only", file="dsan_tf/cli/teacher_labels.py",
         old="mean = np.mean(per_teacher, axis=0)",
         new="mean = per_teacher[0]",
         tests=DISTIL,
         why="with several --weights only the first teacher's probabilities are written: no ensemble."),
    dict(name="r7-teacher-labels-temperature-zero-accepted", file="dsan_tf/cli/teacher_labels.py",
         old="float_in(0, MAX_TEMPERATURE, open_low=True)",
         new="float_in(0, MAX_TEMPERATURE)",
         tests=DISTIL + FLAGS,
         why="--temperature 0 is accepted: log p / 0 gives NaN (or a crash) after every teacher has run."),
    # ------------------------------------------------------------------ resume and checkpoints (7)
    dict(name="r7-training-resume-tries-oldest-first", file="dsan_tf/training.py",
         old="for number in numbers:",
         new="for number in reversed(numbers):",
         tests=TRAINING,
         why="--resume restores the OLDEST checkpoint on disk: the steps after it are trained twice."),
    dict(name="r7-training-keeps-one-checkpoint", file="dsan_tf/training.py",
         old="def __init__(self, model, directory, max_to_keep=2, ema=None):",
         new="def __init__(self, model, directory, max_to_keep=1, ema=None):",
         tests=TRAINING,
         why="only the newest checkpoint is kept: a damaged newest one (a kill during its write) leaves "
             "nothing to resume from."),
    dict(name="r7-training-first-ctrl-c-ignored", file="dsan_tf/training.py",
         old="        self.requested = True\n",
         new="        self.requested = False\n",
         tests=TRAINING,
         why="the first Ctrl-C does nothing (only a warning); only a second one stops training, at once "
             "and without a checkpoint of the step."),
    dict(name="r7-training-old-running-record-means-trained", file="dsan_tf/training.py",
         old="return (record if isinstance(record, list) else None), False",
         new="return (record if isinstance(record, list) else None), True",
         tests=TRAINING,
         why="every mid-epoch checkpoint counts as following the epoch's last step: a resume validates the "
             "epoch and skips the rest of its steps."),
    dict(name="r7-training-resumed-validation-as-training", file="dsan_tf/training.py",
         old='logs.update({f"val_{name}": value for name, value in validation.items()})',
         new="logs.update(validation)",
         tests=TRAINING,
         why="the resumed epoch's validation scores overwrite its training metrics in history.csv (no val_ "
             "columns, the training accuracy replaced)."),
    dict(name="r7-runner-run-restarted-without-resume", file="dsan_tf/runner.py",
         old='        if kind != "empty":\n',
         new='        if kind not in ("empty", "run"):\n',
         tests=RUN,
         why="dsan train without --resume into a folder holding a training run starts it over: its "
             "checkpoints and history are overwritten instead of refused."),
    dict(name="r7-runner-teacher-recorded-by-path", file="dsan_tf/runner.py",
         old='settings["teacher_labels_sha256"] = teacher_fingerprint(settings["teacher_labels"])',
         new='settings["teacher_labels_sha256"] = str(settings["teacher_labels"])',
         tests=RUN + DISTIL,
         why="the run records the teacher file's path, not its hash: --resume accepts a teacher-labels file "
             "rewritten since, and trains on other targets."),
]
