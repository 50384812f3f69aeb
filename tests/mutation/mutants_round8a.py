"""Round 8 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Areas: the output policy (outputs.py), resume and checkpoints (training.py, runner.py, state_files.py, ema.py),
progress (progress.py), the CLI boundary and exit statuses (cli/__init__.py, cli/validators.py), calibration
(cli/calibrate.py), distillation (distillation.py, cli/teacher_labels.py) and the commands ship, compare, analyze,
tfrecords and data-summary. Each entry is one plain text substitution in one file (``old`` occurs exactly once
there): a plausible one-line mistake. ``tests`` are the module's own test files as picked from their names alone
(``ls tests/``). No (file, old) equals an earlier mutant's; each ``old`` is on a line no earlier mutant's ``old``
touched. io_utils.py, calibration.py, cli/progress.py, errors.py and __main__.py got none (every line of
io_utils.py was taken; the others are a few lines, most of them taken).

First pass (2026-12-07, ``python tests/mutation/run.py --only <these> --no-baseline --jobs 1 --nice 19``, on
the shared two cores beside the lead's whole check; the run was ended by a SIGTERM from outside after 26
mutants, 22.6 min, and the other 10 run again, 7.7 min: 30.3 min in all): **26/36 killed (72 %)**. Per module:
outputs 6/6, training 5/5, runner 2/5, state_files 2/3, ema 1/1, progress 1/1, cli/__init__ 3/3,
cli/validators 2/2, cli/ship_model 1/2, cli/calibrate 0/1, cli/compare 1/2, cli/analyze 0/1,
cli/make_tfrecords 0/1, cli/data_summary 0/1, distillation 1/1, cli/teacher_labels 1/1. Survivors, none
equivalent (each a gap):

- r8-runner-centre-momentum-one-accepted: the bound was tested at the flag (argparse's validator, in
  test_bad_input_training.py), never through check_settings, the Python API's check;
- r8-runner-limit-message-flag-underscores: check_settings' message was tested only for --ema-decay, in
  test_training.py and test_ema.py, outside the runner's files; none of those names a multi-word setting;
- r8-runner-precision-compared-on-resume: no resume was made where 'auto' resolved to another precision;
- r8-state-csv-header-order-ignored: the header refusals tested a header missing a field, never the right
  fields in another order;
- r8-ship-pair-sha-not-compared: is_shipped_pair was tested with a lone weights file and a missing one,
  never with a record whose sha256 is not its weights file's;
- r8-calibrate-scores-with-stored-correction: every calibrate test loaded a plain model (no class_scale, no
  flip_average), where stripping the correction changes nothing;
- r8-compare-perfect-accuracy-refused: every accuracy in the compare tests was below 1;
- r8-analyze-class-order-unchecked: the refusal was tested with a model of 3 classes (the count check);
  never the same count with other names;
- r8-tfrecords-skip-bad-not-passed-to-reader: skip_bad was tested on write_tfrecords itself, never the
  command passing --skip-bad to the reader (skip_missing);
- r8-data-summary-check-images-ignored: the embedded sample's images are all good: every --check-images mode
  gives the same counts.

No bug in dsan_tf/. Each got a test at the end of a file its selection runs (header "round 8 blind mutants
(issue 34)"): test_resume_safety.py (check_settings: momentum 0 and 0.99 pass, 1 refused as
"--centre-momentum 1: expected a number in [0, 1)"; check_resume_config accepts another resolved precision and
reason, refuses another --mixed-precision), test_state_files.py (a "status,path" header refused where
"path,status" is expected), test_pretrained.py (a record whose sha256 is not its weights file's is no pair;
with the file's own, hashed by hashlib, it is), test_calibration.py (a model carrying tau and flip averaging:
the model scored gives the uncorrected network's probabilities), test_compare.py (a class at 1.0 and one at
0.0: the run's row, by hand), test_analyze.py (FERPlus' classes with the first two swapped refused naming both
lists; the same in capitals accepted), test_tfrecords.py (a copy of the sample missing one training image:
exit 2 naming it, with --skip-bad 287 images reach the writer), test_data_commands.py (one training image
holding text: --check-images exists counts 288, header 287). Rerun of the ten (``--only <the ten>
--no-baseline --jobs 1 --nice 19``): 10/10 killed (11.9 min), each by its new test: 36/36.
"""

OUTPUTS = ("tests/test_output_policy.py", "tests/test_output_policy_commands.py")
TRAINING = ("tests/test_training.py", "tests/test_resume_safety.py")
RUNNER = ("tests/test_run.py", "tests/test_resume_validation.py", "tests/test_resume_safety.py")
STATE = ("tests/test_state_files.py", "tests/test_not_a_number.py")
EMA = ("tests/test_ema.py",)
PROGRESS = ("tests/test_training.py", "tests/test_cli.py")
CLI = ("tests/test_cli.py", "tests/test_exit_statuses.py")
VALIDATORS = ("tests/test_flags.py", "tests/test_validator_properties.py")
SHIP = ("tests/test_shipped_model.py", "tests/test_pretrained.py")
CALIBRATE = ("tests/test_calibration.py",)
COMPARE = ("tests/test_compare.py",)
ANALYZE = ("tests/test_analyze.py",)
TFRECORDS = ("tests/test_tfrecords.py", "tests/test_data_commands.py")
DATA_SUMMARY = ("tests/test_data_commands.py",)
DISTILLATION = ("tests/test_distillation.py",)

FRESH_ROUND8A = [
    # ------------------------------------------------------------------ the output policy (6)
    dict(name="r8-outputs-marker-head-written-twice", file="dsan_tf/outputs.py",
         old='    if path.exists():\n        return\n    with open(path, "a", encoding="utf-8") as fh:',
         new='    with open(path, "a", encoding="utf-8") as fh:',
         tests=OUTPUTS,
         why="write_marker on a marked folder (a --resume) appends a second head line: the marker no longer "
             "parses, and the next run calls its own folder 'an output with an unreadable marker'"),
    dict(name="r8-outputs-manifest-rewritten", file="dsan_tf/outputs.py",
         old='    with open(Path(folder) / MARKER, "a", encoding="utf-8") as fh:\n        fh.write(line + "\\n")',
         new='    with open(Path(folder) / MARKER, "w", encoding="utf-8") as fh:\n        fh.write(line + "\\n")',
         tests=OUTPUTS,
         why="recording a published file truncates the marker: its head and every earlier name are lost, the "
             "folder is no longer the command's own"),
    dict(name="r8-outputs-adopted-files-not-listed", file="dsan_tf/outputs.py",
         old="names = {os.fsdecode(name) for name in others}",
         new="names = set()",
         tests=OUTPUTS,
         why="a folder written before markers existed is accepted, but its files are not adopted: the rerun is "
             "refused when it replaces one of them ('exists; pass --overwrite')"),
    dict(name="r8-outputs-lock-parents-made-deepest-first", file="dsan_tf/outputs.py",
         old="    for folder in reversed(missing):\n",
         new="    for folder in missing:\n",
         tests=OUTPUTS,
         why="an output two missing folders deep: mkdir of the deepest first fails (FileNotFoundError) "
             "instead of creating the chain"),
    dict(name="r8-outputs-stale-temp-pattern-four-hex", file="dsan_tf/outputs.py",
         old=r"\.(\d+)\.[0-9a-f]{{8}}(",
         new=r"\.(\d+)\.[0-9a-f]{{4}}(",
         tests=OUTPUTS,
         why="the pattern of a temporary no longer matches the 8 hex digits temp_path_beside writes: a killed "
             "writer's temporaries are never cleaned"),
    dict(name="r8-outputs-publish-folder-symlink-accepted", file="dsan_tf/outputs.py",
         old="        if path.is_symlink():  # the swap would replace the link",
         new="        if path.is_symlink() and not path.exists():  # the swap would replace the link",
         tests=OUTPUTS,
         why="a --output that is a symlink to a folder is swapped as a link: the link is replaced by a real "
             "folder and the folder it pointed to keeps the old files"),
    # ------------------------------------------------------------------ resume and checkpoints: training.py (5)
    dict(name="r8-training-checkpoint-number-off-by-one", file="dsan_tf/training.py",
         old="number = path.name[len(CHECKPOINT_PREFIX) + 1:-len(\".index\")]",
         new="number = path.name[len(CHECKPOINT_PREFIX):-len(\".index\")]",
         tests=TRAINING,
         why="the number of ckpt-7.index read as '-7': no checkpoint is found on disk, --resume says there is none"),
    dict(name="r8-training-interrupt-message-epoch-zero-based", file="dsan_tf/training.py",
         old='what = f"checkpoint saved at epoch {position[0] + 1}, step {position[1]}"',
         new='what = f"checkpoint saved at epoch {position[0]}, step {position[1]}"',
         tests=TRAINING,
         why="after Ctrl-C the line names the epoch one too low (0-based) for a user who counts from 1"),
    dict(name="r8-training-budget-stop-saved-as-next-epoch", file="dsan_tf/training.py",
         old="state.save(epoch, step_checkpoint.step, budget.running)",
         new="state.save(epoch + 1, step_checkpoint.step, budget.running)",
         tests=TRAINING,
         why="a time budget spent mid-epoch saves the position as the next epoch: --resume skips the rest of "
             "the interrupted epoch and the same number of steps of the next"),
    dict(name="r8-training-second-ctrl-c-ignored", file="dsan_tf/training.py",
         old="        if self.requested:\n            raise KeyboardInterrupt\n",
         new="        if self.requested:\n            return\n",
         tests=TRAINING,
         why="a second Ctrl-C no longer stops at once: during a long validation the user cannot stop the run"),
    dict(name="r8-training-running-metrics-length-unchecked", file="dsan_tf/training.py",
         old="fits = len(variables) == len(self.running) and all(",
         new="fits = all(",
         tests=TRAINING,
         why="a running-metrics record of another model (fewer values) is half assigned (zip stops early): the "
             "resumed epoch's history row mixes two models' sums"),
    # ------------------------------------------------------------------ runner (5)
    dict(name="r8-runner-centre-momentum-one-accepted", file="dsan_tf/runner.py",
         old='"centre_momentum": (lambda v: _number(v) and 0 <= v < 1,',
         new='"centre_momentum": (lambda v: _number(v) and 0 <= v <= 1,',
         tests=RUNNER,
         why="--centre-momentum 1 accepted: the centres' velocity never decays, and the run diverges hours later"),
    dict(name="r8-runner-limit-message-flag-underscores", file="dsan_tf/runner.py",
         old="raise RunError(f\"--{name.replace('_', '-')} {settings[name]}: expected {expected}\")",
         new="raise RunError(f\"--{name} {settings[name]}: expected {expected}\")",
         tests=RUNNER,
         why="the refusal names --batch_size, a flag that does not exist (the user typed --batch-size)"),
    dict(name="r8-runner-precision-compared-on-resume", file="dsan_tf/runner.py",
         old='"devices",\n                     "precision", "precision_reason"}',
         new='"devices",\n                     "precision_reason"}',
         tests=RUNNER,
         why="--resume on a machine where --mixed-precision auto resolves otherwise is refused as 'another "
             "configuration', though the weights are float32 either way"),
    dict(name="r8-runner-unreadable-config-not-precious", file="dsan_tf/runner.py",
         old="return True  # unreadable: treat as precious",
         new="return False  # unreadable: treat as precious",
         tests=RUNNER,
         why="--eval-only into a folder whose config.json is damaged overwrites it and metrics.json: a training "
             "run's record is lost"),
    dict(name="r8-runner-subset-twice-by-path", file="dsan_tf/runner.py",
         old="        if name in lists:\n",
         new="        if path in lists:\n",
         tests=RUNNER,
         why="--subset occlusion=a.txt --subset occlusion=b.txt is not refused: the second list silently "
             "replaces the first"),
    # ------------------------------------------------------------------ state files (3)
    dict(name="r8-state-nan-constant-accepted", file="dsan_tf/state_files.py",
         old="value = json.loads(text, parse_constant=_reject_constant)",
         new="value = json.loads(text)",
         tests=STATE,
         why="NaN / Infinity in a state file pass where the schema is an object or any: a damaged "
             "calibration or metrics value travels on as NaN"),
    dict(name="r8-state-csv-header-order-ignored", file="dsan_tf/state_files.py",
         old="if list(header) != list(fields):",
         new="if sorted(header) != sorted(fields):",
         tests=STATE,
         why="a CSV ledger with its columns in another order is accepted and its values read under the wrong "
             "field names"),
    dict(name="r8-state-run-config-split-required", file="dsan_tf/state_files.py",
         old='"evaluation_split?": (str, None)}',
         new='"evaluation_split": (str, None)}',
         tests=STATE,
         why="a config.json of a run recorded before evaluation_split existed is refused: such runs can no "
             "longer be resumed or compared"),
    # ------------------------------------------------------------------ EMA (1)
    dict(name="r8-ema-decay-one-accepted", file="dsan_tf/ema.py",
         old="if not 0.0 < decay < 1.0:",
         new="if not 0.0 < decay <= 1.0:",
         tests=EMA,
         why="an EMA of decay 1 accepted (after warm-up): the shadows stop moving and the 'EMA model' "
             "is a copy of an early step"),
    # ------------------------------------------------------------------ progress (1)
    dict(name="r8-progress-loss-two-decimals", file="dsan_tf/progress.py",
         old="parts.append(f\"loss {float(logs['loss']):.4f}\")",
         new="parts.append(f\"loss {float(logs['loss']):.2f}\")",
         tests=PROGRESS,
         why="the epoch line rounds the loss to 2 decimals: late epochs all print the same loss"),
    # ------------------------------------------------------------------ the CLI boundary and exit statuses (3)
    dict(name="r8-cli-savedmodel-status-two", file="dsan_tf/cli/__init__.py",
         old='"export a model as a TF Serving SavedModel version", error_status=1),',
         new='"export a model as a TF Serving SavedModel version"),',
         tests=CLI,
         why="dsan export savedmodel's documented exit status 1 for a user error becomes 2: scripts that test "
             "for 1 miss the failure"),
    dict(name="r8-cli-internal-error-status-two", file="dsan_tf/cli/__init__.py",
         old='"for the traceback")\n        return 1',
         new='"for the traceback")\n        return error_status',
         tests=CLI,
         why="an internal error (a bug) exits with the user-error status 2 instead of 1: a caller cannot tell "
             "a bad flag from a crash"),
    dict(name="r8-cli-missing-module-named-commands-extra", file="dsan_tf/cli/__init__.py",
         old="if command is not None and command.extra and module in EXTRAS.get(command.extra, ()):",
         new="if command is not None and command.extra:",
         tests=CLI,
         why="a missing module of another extra is reported as the command's own extra: pip install of that "
             "extra does not install it"),
    # ------------------------------------------------------------------ validators (2)
    dict(name="r8-validators-shipped-name-refused", file="dsan_tf/cli/validators.py",
         old="    if pretrained.is_shipped_name(str(path)):\n        return None\n",
         new="",
         tests=VALIDATORS,
         why="--weights ferplus (a shipped model's name) refused as 'no such model file'"),
    dict(name="r8-validators-as-text-unchecked", file="dsan_tf/cli/validators.py",
         old="return str(self.inner(text))",
         new="return str(text)",
         tests=VALIDATORS,
         why="a flag validated as text (dsan train's) keeps its value unchecked: --epochs 0 or nan reaches the run"),
    # ------------------------------------------------------------------ ship (2)
    dict(name="r8-ship-pair-sha-not-compared", file="dsan_tf/cli/ship_model.py",
         old='return weights_path.is_file() and pretrained.sha256(weights_path) == record["sha256"]',
         new="return weights_path.is_file()",
         tests=SHIP,
         why="a weights file that is not the one its record names (a user's own) is replaced without --overwrite"),
    dict(name="r8-ship-name-with-spaces", file="dsan_tf/cli/ship_model.py",
         old='if (not name or name.strip() != name or name in (".", "..")',
         new='if (not name or name in (".", "..")',
         tests=SHIP,
         why="--name ' ferplus' accepted: a pair named with a leading space that pretrained.load('ferplus') "
             "never finds"),
    # ------------------------------------------------------------------ calibration (1)
    dict(name="r8-calibrate-scores-with-stored-correction", file="dsan_tf/cli/calibrate.py",
         old="model = with_prior_correction(as_float32(load_dsan(args.weights)), None)",
         new="model = as_float32(load_dsan(args.weights))",
         tests=CALIBRATE,
         why="a model that already carries a prior correction is scored with it: the table's tau = 0 row is "
             "not the trained weights, and every tau is applied on top of the old one"),
    # ------------------------------------------------------------------ compare (2)
    dict(name="r8-compare-train-acc-first-epoch", file="dsan_tf/cli/compare.py",
         old='float(log["accuracy"].iloc[-1])',
         new='float(log["accuracy"].iloc[0])',
         tests=COMPARE,
         why="the table's training accuracy is the first epoch's, not the last shown"),
    dict(name="r8-compare-perfect-accuracy-refused", file="dsan_tf/cli/compare.py",
         old="if value is not None and not 0 <= value <= 1:",
         new="if value is not None and not 0 <= value < 1:",
         tests=COMPARE,
         why="a run with a class scored 100 % is refused as damaged metrics"),
    # ------------------------------------------------------------------ analyze (1)
    dict(name="r8-analyze-class-order-unchecked", file="dsan_tf/cli/analyze.py",
         old="if model.class_names and [n.lower() for n in model.class_names] != [n.lower() for n in names]:",
         new="if model.class_names and len(model.class_names) != len(names):",
         tests=ANALYZE,
         why="a model trained for other classes (same count) is analysed: figures coloured with the wrong names"),
    # ------------------------------------------------------------------ tfrecords (1)
    dict(name="r8-tfrecords-skip-bad-not-passed-to-reader", file="dsan_tf/cli/make_tfrecords.py",
         old="skip_missing=args.skip_bad)",
         new="skip_missing=False)",
         tests=TFRECORDS,
         why="--skip-bad does not reach the reader: a missing image listed in the labels stops the command "
             "instead of being skipped"),
    # ------------------------------------------------------------------ data-summary (1)
    dict(name="r8-data-summary-check-images-ignored", file="dsan_tf/cli/data_summary.py",
         old="check_images=args.check_images,",
         new='check_images="header",',
         tests=DATA_SUMMARY,
         why="--check-images decode (or none) is ignored: a truncated JPEG is not found, or a quick count "
             "reads every header"),
    # ------------------------------------------------------------------ distillation (2)
    dict(name="r8-distillation-soften-max-per-column", file="dsan_tf/distillation.py",
         old="logs -= logs.max(axis=1, keepdims=True)",
         new="logs -= logs.max(axis=0, keepdims=True)",
         tests=DISTILLATION,
         why="the stabilising max is taken per class over the faces instead of per face: every face's "
             "teacher target is distorted, even at T = 1"),
    dict(name="r8-teacher-labels-temperature-inverted", file="dsan_tf/cli/teacher_labels.py",
         old="targets = soften(mean, args.temperature)",
         new="targets = soften(mean, 1 / args.temperature)",
         tests=DISTILLATION,
         why="--temperature 4 sharpens the teachers' probabilities (p ** 4) instead of softening them"),
]
