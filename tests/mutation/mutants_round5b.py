"""Round 5 blind mutants, part b (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.

First pass (2026-12-07, ``--only <these> --no-baseline --jobs 1 --nice 19``, 28.4 min on the shared two
cores): **21/31 killed (68 %)**. Per module: benchmark 2/2, cli/validators 2/2, data/affectnet 1/1,
data/ferplus 2/2, data/pipeline 2/2, data/rafdb 1/1, ema 1/1, layers 1/1, realtime 2/2, losses 0/1,
model 3/4, outputs 0/2, runner 1/4, state_files 1/2, training 2/4. Survivors:

- r5-training-step-checkpoint-one-step-early: the only StepCheckpoint test used every=1, where
  ``(step + 1) % 1 == 0`` too;
- r5-training-trained-epoch-not-validated: killed by test_resume_validation.py (not in its selection);
- r5-runner-time-budget-in-seconds: no test read the budget handed to training;
- r5-runner-same-shuffle-every-epoch: killed by test_training.py's per-epoch seed test (not in its selection);
- r5-runner-restart-keeps-old-history: no test of the restart's history.csv in its selection;
- r5-model-gfe-accuracy-from-mff-logits: no test compared a stream's accuracy with its own logits;
- r5-losses-attention-gradient-default-flows: the gradient test passed the flag both ways, never the default;
- r5-outputs-overwrite-ignored-for-unmarked-folder, r5-outputs-publish-folder-any-kind-is-ours: only the
  refusals were tested, not --overwrite's acceptance nor a marker of another kind;
- r5-state-csv-row-extra-fields-accepted: only rows with too few fields were tested.

None equivalent, no bug in dsan_tf/. Each got a test at the end of a file its selection runs (header
"round 5 blind mutants (issue 34)"): test_training.py, test_resume_safety.py, test_run.py (two),
test_model.py, test_losses.py, test_output_policy.py (two), test_state_files.py. Rerun of the ten:
10/10 killed (4.4 min), each by its new test: 31/31.
"""

TRAINING = ("tests/test_training.py", "tests/test_resume_safety.py")
RUN = ("tests/test_run.py", "tests/test_resume_validation.py")
MODEL = ("tests/test_model.py", "tests/test_centre_update.py")
PIPELINE = ("tests/test_data_pipeline.py", "tests/test_data_loss_cases.py")
FERPLUS = ("tests/test_data_ferplus.py", "tests/test_reader_refusals.py")
READERS = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
BENCH = ("tests/test_accounting.py", "tests/test_bench_against_torch.py")
REALTIME = ("tests/test_realtime.py", "tests/test_accounting.py")
OUTPUTS = ("tests/test_output_policy.py", "tests/test_write_primitives.py")
STATE = ("tests/test_state_files.py",)
FLAGS = ("tests/test_flags.py", "tests/test_validator_properties.py")

FRESH_ROUND5B = [
    # ------------------------------------------------------------------ training (4)
    dict(name="r5-training-save-counter-from-oldest", file="dsan_tf/training.py",
         old="self.checkpoint.save_counter.assign(max(numbers))",
         new="self.checkpoint.save_counter.assign(min(numbers))",
         tests=TRAINING,
         why="after a resume the checkpoints are numbered from the OLDEST one on disk: the next save is "
             "written over the newest checkpoint (a kill during it leaves no good newest one)."),
    dict(name="r5-training-step-checkpoint-one-step-early", file="dsan_tf/training.py",
         old="if self.every and self.step % self.every == 0:",
         new="if self.every and (self.step + 1) % self.every == 0:",
         tests=TRAINING,
         why="off by one: --checkpoint-every 5 saves after steps 4, 9, ... and never after the epoch's last "
             "step when the count divides it; the recorded position is not where the user asked."),
    dict(name="r5-training-trained-epoch-not-validated", file="dsan_tf/training.py",
         old="_finish_trained_epoch(model, epoch, None if custom_loop else validation_data, callbacks)",
         new="_finish_trained_epoch(model, epoch, None, callbacks)",
         tests=TRAINING,
         why="a run killed during an epoch's validation is resumed without that validation: the epoch's "
             "history row has no val_ columns (and the curves a gap)."),
    dict(name="r5-training-sigint-handler-not-restored", file="dsan_tf/training.py",
         old="        if self.previous is not None:\n            signal.signal(signal.SIGINT, self.previous)",
         new="        if self.previous is None:\n            signal.signal(signal.SIGINT, self.previous)",
         tests=TRAINING,
         why="the Ctrl-C handler of training is left installed after it: a later Ctrl-C (during evaluation, "
             "or in the caller's program) only sets a flag nobody reads and does not stop anything."),
    # ------------------------------------------------------------------ runner (4)
    dict(name="r5-runner-time-budget-in-seconds", file="dsan_tf/runner.py",
         old="time_budget_s=budget * 60 if budget else None",
         new="time_budget_s=budget if budget else None",
         tests=RUN + ("tests/test_edge_paths.py",),
         why="--time-budget-minutes is passed on as seconds: a 30-minute budget stops training after 30 s."),
    dict(name="r5-runner-same-shuffle-every-epoch", file="dsan_tf/runner.py",
         old='seed=settings["seed"] * 1000 + epoch',
         new='seed=settings["seed"] * 1000',
         tests=RUN + ("tests/test_resume_safety.py",),
         why="every epoch's dataset gets the same seed: the same order and the same augmentation every "
             "epoch, so training sees one fixed sequence of batches repeated."),
    dict(name="r5-runner-complete-cache-removed", file="dsan_tf/runner.py",
         old='if not Path(f"{prefix}.index").exists():',
         new='if Path(f"{prefix}.index").exists():',
         tests=RUN + ("tests/test_resume_safety.py",),
         why="inverted test: the complete decoded-image cache is deleted on every start (all images decoded "
             "again on a resume), and a half-written one is kept and read."),
    dict(name="r5-runner-restart-keeps-old-history", file="dsan_tf/runner.py",
         old='        (output_dir / "history.csv").unlink(missing_ok=True)\n        return False',
         new="        return False",
         tests=RUN,
         why="a --resume of a run that stopped before its first checkpoint starts over but keeps the old "
             "history.csv: the new run's rows are appended after the dead run's, epoch 1 twice."),
    # ------------------------------------------------------------------ model (4)
    dict(name="r5-model-centre-pull-sign", file="dsan_tf/model.py",
         old="attention * (tf.gather(centres, labels) - features)",
         new="attention * (features - tf.gather(centres, labels))",
         tests=MODEL,
         why="the per-class centre gradient has the wrong sign: SGD pushes each centre away from its "
             "class's features instead of pulling it towards them."),
    dict(name="r5-model-gfe-accuracy-from-mff-logits", file="dsan_tf/model.py",
         old='self._accuracies["gfe_accuracy"].update_state(targets, outputs["gfe_logits"], sample_weight)',
         new='self._accuracies["gfe_accuracy"].update_state(targets, outputs["mff_logits"], sample_weight)',
         tests=MODEL,
         why="gfe_accuracy is computed from MFF-AN's logits: history.csv reports the same number for both "
             "streams and the GFE-AN column is wrong."),
    dict(name="r5-model-flip-average-sums", file="dsan_tf/model.py",
         old="averaged[key] = (outputs[key] + mirrored[key]) / 2",
         new="averaged[key] = outputs[key] + mirrored[key]",
         tests=MODEL + ("tests/test_calibration.py",),
         why="test-time flip averaging sums instead of averaging: probabilities sum to 2 and logits double."),
    dict(name="r5-model-centre-cos-min-is-max", file="dsan_tf/model.py",
         old='"centre_cos_min": tf.where(any_seen, tf.reduce_min(',
         new='"centre_cos_min": tf.where(any_seen, tf.reduce_max(',
         tests=MODEL,
         why="the progress bar's worst centre cosine is the best one: a centre that does not follow its "
             "class is hidden."),
    # ------------------------------------------------------------------ layers, losses, EMA (3)
    dict(name="r5-layers-class-scale-zero-accepted", file="dsan_tf/layers.py",
         old='all(s > 0 and s < float("inf") for s in self.class_scale)',
         new='all(s >= 0 and s < float("inf") for s in self.class_scale)',
         tests=("tests/test_layers.py", "tests/test_calibration.py"),
         why="a class factor of 0 is accepted: that class can never be predicted, and all-zero factors "
             "give NaN probabilities."),
    dict(name="r5-losses-attention-gradient-default-flows", file="dsan_tf/losses.py",
         old="def recalibrated_centre_loss(attention, hidden, centres, labels, stop_attention_gradient=True):",
         new="def recalibrated_centre_loss(attention, hidden, centres, labels, stop_attention_gradient=False):",
         tests=("tests/test_losses.py",),
         why="the documented default a' = stop_gradient(a) is off: a caller using the default gets gradients "
             "through a' too (DACL's variant, not the paper's)."),
    dict(name="r5-ema-updated-per-epoch", file="dsan_tf/ema.py",
         old="    def on_train_batch_end(self, batch, logs=None):\n        self.average.update()",
         new="    def on_epoch_end(self, batch, logs=None):\n        self.average.update()",
         tests=("tests/test_ema.py",),
         why="the EMA steps once per epoch instead of after every optimiser step: a 30-epoch run's average "
             "has had 30 updates and is mostly the starting weights."),
    # ------------------------------------------------------------------ data pipeline and readers (7)
    dict(name="r5-pipeline-erasing-probability-inverted", file="dsan_tf/data/pipeline.py",
         old="(u[:, 0] < probability)[:, None, None]",
         new="(u[:, 0] > probability)[:, None, None]",
         tests=PIPELINE,
         why="--random-erasing p erases with probability 1 - p: 0.25 erases three faces in four, 1.0 none."),
    dict(name="r5-pipeline-short-cache-passes", file="dsan_tf/data/pipeline.py",
         old="if read != len(table):",
         new="if read > len(table):",
         tests=PIPELINE + ("tests/test_resume_safety.py",),
         why="a decoded-image cache holding fewer images than the table (cut short) passes as whole: "
             "training silently runs on part of the data."),
    dict(name="r5-ferplus-soft-targets-over-all-votes", file="dsan_tf/data/ferplus.py",
         old="targets = (emo / np.where(emo_total > 0, emo_total, 1.0)[:, None]).astype(np.float32)",
         new="targets = (emo / np.where(total > 0, total, 1.0)[:, None]).astype(np.float32)",
         tests=FERPLUS,
         why="probability targets are divided by all votes (unknown and NF included): a face with "
             "'unknown' votes gets a target summing to less than 1."),
    dict(name="r5-ferplus-raw-keeps-nameless-rows", file="dsan_tf/data/ferplus.py",
         old='part = labels[(labels["usage"] == usage) & ~no_name]',
         new='part = labels[labels["usage"] == usage]',
         tests=FERPLUS,
         why="rows of fer2013new.csv without an image name (dropped by FERPlus) are trained on."),
    dict(name="r5-rafdb-extra-fields-not-refused", file="dsan_tf/data/rafdb.py",
         old="if len(fields) != 2:",
         new="if len(fields) < 2:",
         tests=READERS,
         why="a label line with three fields is no longer refused with its line number: the unpacking "
             "fails with a bare ValueError traceback."),
    dict(name="r5-affectnet-class-names-swapped", file="dsan_tf/data/affectnet.py",
         old="class_names = AFFECTNET8_CLASSES if num_classes == 8 else AFFECTNET7_CLASSES",
         new="class_names = AFFECTNET8_CLASSES if num_classes == 7 else AFFECTNET7_CLASSES",
         tests=READERS,
         why="AffectNet-7 gets the 8 class names and AffectNet-8 the 7: a model with the wrong number of "
             "names, contempt missing from the 8-class one."),
    # ------------------------------------------------------------------ benchmark, real time (4)
    dict(name="r5-bench-profile-other-top-not-per-step", file="dsan_tf/benchmark.py",
         old='other = Counter({op: ms / steps for (p, op), ms in times.items() if p == "other"})',
         new='other = Counter({op: ms for (p, op), ms in times.items() if p == "other"})',
         tests=BENCH,
         why="--profile's largest 'other' op types are listed with their time over all steps beside parts "
             "given per step: they look --steps times larger than their part."),
    dict(name="r5-bench-torch-cpu-ratio-inverted", file="dsan_tf/benchmark.py",
         old='result[f"ratio_cpu_{key}"] = p["step_cpu_seconds_median"] / t["step_cpu_seconds_median"]',
         new='result[f"ratio_cpu_{key}"] = t["step_cpu_seconds_median"] / p["step_cpu_seconds_median"]',
         tests=BENCH,
         why="against PyTorch the CPU-time ratio is inverted: TF twice as fast reads as half as fast."),
    dict(name="r5-realtime-unmatched-counts-live-faces", file="dsan_tf/realtime.py",
         old='missing += len(ref) - len(pairs)',
         new='missing += len(got) - len(pairs)',
         tests=REALTIME,
         why="the live benchmark's 'unmatched' counts the live path's extra faces instead of the reference "
             "faces it missed."),
    dict(name="r5-realtime-lost-when-any-live-face-misses", file="dsan_tf/realtime.py",
         old='lost = box is not None and not any(iou(box, f["box"]) >= 0.3 for f in got)',
         new='lost = box is not None and not all(iou(box, f["box"]) >= 0.3 for f in got)',
         tests=REALTIME,
         why="with several faces a face counts as lost whenever some other live face is elsewhere: the "
             "three-face scene's longest loss is the whole video."),
    # ------------------------------------------------------------------ outputs, state files, flags (6)
    dict(name="r5-outputs-overwrite-ignored-for-unmarked-folder", file="dsan_tf/outputs.py",
         old="elif others and not self.overwrite:",
         new="elif others:",
         tests=OUTPUTS,
         why="--overwrite no longer lets a command use an unmarked folder holding other files, as "
             "documented: the refusal stands whatever the user says."),
    dict(name="r5-outputs-publish-folder-any-kind-is-ours", file="dsan_tf/outputs.py",
         old="ours = (marker is not None and marker[0] == kind) or (accept is not None and accept(path))",
         new="ours = marker is not None or (accept is not None and accept(path))",
         tests=OUTPUTS,
         why="publish_folder swaps out (and deletes) a folder marked as another command's output (a "
             "training run) because it has a marker at all."),
    dict(name="r5-state-infinite-number-accepted", file="dsan_tf/state_files.py",
         old="if not math.isfinite(value):",
         new="if math.isnan(value):",
         tests=STATE,
         why="a JSON number like 1e999 (read as infinity) passes a finite-number schema."),
    dict(name="r5-state-csv-row-extra-fields-accepted", file="dsan_tf/state_files.py",
         old="if len(values) != len(fields):",
         new="if len(values) < len(fields):",
         tests=STATE,
         why="a CSV state row with more fields than its header (two rows run together by a damaged "
             "write) is read, its extra values dropped silently."),
    dict(name="r5-validators-positive-float-accepts-zero", file="dsan_tf/cli/validators.py",
         old="return _Float(0.0, maximum, open_low=True)",
         new="return _Float(0.0, maximum, open_low=False)",
         tests=FLAGS,
         why="positive_float accepts 0: --learning-rate 0 (or a 0 s timeout) passes argparse."),
    dict(name="r5-validators-nan-accepted", file="dsan_tf/cli/validators.py",
         old="        if not math.isfinite(value):\n            return None\n",
         new="",
         tests=FLAGS,
         why="the finite check is dropped: 'nan' compares false with both bounds and is accepted as a number."),
]
