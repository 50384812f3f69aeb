"""Round 6 blind mutants, part b (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped:
twelve first drafts repeated one (e.g. batchnorm-momentum, explain-check-corner-is-any-edge, three of
io_utils.py's four lines) and one more came close (distribute-every-worker-is-chief); all were replaced
before the first pass.

First pass (2026-12-07, ``--only <these> --no-baseline --jobs 1 --nice 19``, 32.0 min on the shared two
cores): **16/36 killed (44 %)**. Per module: cli/bench_serving 1/1, cli/calibrate 2/2, cli/compare 1/1,
cli/data_summary 1/1, cli/export_savedmodel 1/1, cli/make_sample 1/1, cli/run 1/1, cli/table4 1/1,
optimizers 1/1, pretrained 1/1, resnet 1/1, cli/bench 1/2, cli/explain 1/2, cli/simulate_centres 1/2,
progress 1/2, cli/ablate 0/2, cli/profile 0/2, cli/ship_model 0/2, cli/analyze 0/1, cli/bench_pipeline 0/1,
cli/export_tflite 0/1, cli/make_tfrecords 0/1, distribute 0/1, explain_check 0/1, io_utils 0/1,
precision 0/1, presets 0/1, video_outputs 0/1. Survivors, and the test (header "round 6 blind mutants
(issue 34)") that now kills each:

- r6-explain-check-ignores-positional-inputs: only --faces/--target with --check were tested ->
  test_explain.py::test_check_refuses_image_inputs_given_either_way;
- r6-explain_check-target-from-top-randomisation: the one test of the targets had both randomisations at
  rho = 1 -> test_explain_check.py::test_the_spearman_target_is_judged_on_all_weights_randomised;
- r6-simulate-centres-last-full-batch-dropped: the replays ran 125 batches of 64 an epoch, where one fewer
  changes nothing they measure ->
  test_simulate_centres.py::test_a_batch_size_dividing_the_features_replays_every_batch;
- r6-ship-agreement-equal-to-minimum-refused: agreements were far from --min-agreement, never equal ->
  test_pretrained.py::test_ship_accepts_an_agreement_equal_to_the_minimum_and_keeps_the_folders_other_files
  (scripted scoring: 3 of 4 = 0.75 against --min-agreement 0.75);
- r6-ship-other-models-dropped: killed by test_data_loss_cases.py (not in its selection) -> the same test;
- r6-bench-profile-other-list-cut-to-shorter: no test printed --profile's table (its run prints --json) ->
  test_accounting.py::test_profile_table_lists_every_other_op_of_the_framework_with_more;
- r6-bench-pipeline-precision-default-bfloat16: killed by test_flags.py (not in its selection) ->
  test_accounting.py::test_bench_pipeline_times_the_step_in_what_dsan_train_would_use;
- r6-profile-paper-row-any-sa-layers: the paper-setting test varied K, size and F, not the SA layers or r ->
  test_profiling.py::test_no_paper_row_with_one_sa_layer_or_another_reduction;
- r6-profile-table-diff-from-flops: --table's diff column was never read ->
  test_profiling.py::test_table_diff_compares_macs_with_the_papers_mflops;
- r6-ablate-any-folder-with-a-point-taken-over: killed by test_output_policy_commands.py (not in its
  selection) ->
  test_ablate.py::test_an_unmarked_folder_is_an_old_grid_only_with_point_folders_and_nothing_else;
- r6-ablate-unfinished-point-not-resumed: every point of the tests was finished or new ->
  test_ablate.py::test_a_point_with_a_config_but_no_metrics_is_resumed;
- r6-presets-cpu-long-epochs: the model card's commands all pass --epochs; nothing read the preset's own ->
  test_run.py::test_the_cpu_long_preset_is_the_recipe_of_its_recorded_48px_run (against the committed run
  experiments/results/issue33-base48-e30-s0);
- r6-tfrecords-crop-inverted: the writer's crop was tested, never the command's flag ->
  test_tfrecords.py::test_the_command_crops_with_the_face_boxes_unless_no_crop;
- r6-analyze-five-images-refused: no test at the 5-image edge -> test_analyze.py::test_five_images_are_enough;
- r6-export_tflite-status-from-last-model: the one failing case had the LAST model failing ->
  test_export_tflite.py::test_a_float32_model_below_its_threshold_fails_the_command_even_when_the_quantised_one_passes;
- r6-distribute-validation-without-prefix: distributed_train's validation never ran in a test ->
  test_distribute.py::test_distributed_train_validates_as_fit_does_under_val_names;
- r6-video_outputs-upper-case-suffix-refused: every video name was lower case ->
  test_predict.py::test_an_annotated_video_name_in_capitals_is_written;
- r6-io_utils-check-output-path-folder-by-default: no test called check_output_path without folder=
  (test_export.py, which calls it so, does not kill it either) ->
  test_write_primitives.py::test_check_output_path_expects_a_file_unless_told_a_folder;
- r6-precision-compute-capability-7-excluded: float16_gpus had no test (no GPU here) ->
  test_run.py::test_auto_precision_counts_a_compute_capability_7_0_gpu_as_float16 (devices stood in);
- r6-progress-bar-when-stdout-is-a-terminal: under pytest neither stream is a terminal ->
  test_cli.py::test_the_bar_follows_whether_stderr_not_stdout_is_a_terminal.

None equivalent, no bug in dsan_tf/. Three were killed outside their selection already (marked above); each
still got its test in a file its selection runs. Rerun of the twenty (``--only <survivors> --no-baseline --jobs 1
--nice 19``): 20/20 killed (20.0 min), each by its new test (both ship mutants by the one ship test): 36/36.
"""

EXPLAIN = ("tests/test_explain.py", "tests/test_cli.py")
SIMULATE = ("tests/test_simulate_centres.py", "tests/test_centre_update.py")
SHIP = ("tests/test_shipped_model.py", "tests/test_pretrained.py")
BENCH = ("tests/test_accounting.py", "tests/test_bench_against_torch.py", "tests/test_flags.py")
DATA_COMMANDS = ("tests/test_data_commands.py",)

FRESH_ROUND6B = [
    # ------------------------------------------------------------------ dsan explain, explain_check (3)
    dict(name="r6-explain-check-ignores-positional-inputs", file="dsan_tf/cli/explain.py",
         old="if args.check and args.inputs:",
         new="if args.check and args.images:",
         tests=EXPLAIN,
         why="`dsan explain --check photo.jpg` is no longer refused: the photo is silently ignored and the "
             "benchmark runs on the dataset (only the old --images spelling is still refused)."),
    dict(name="r6-explain-grid-one-face-too-many", file="dsan_tf/cli/explain.py",
         old="if len(pending) == args.batch_size:",
         new="if len(pending) > args.batch_size:",
         tests=EXPLAIN,
         why="off by one: each grid holds --batch-size + 1 faces, so --batch-size 4 gives grids of 5 and the "
             "CSV's grid/index columns point at the wrong cell."),
    dict(name="r6-explain_check-target-from-top-randomisation", file="dsan_tf/explain_check.py",
         old='rho = result["randomisation"]["all"]["mean_spearman"]',
         new='rho = result["randomisation"]["top"]["mean_spearman"]',
         tests=("tests/test_explain_check.py",),
         why="issue 32's target 'mean Spearman, all weights randomised <= 0.3' is judged on the top-stage "
             "randomisation: the table's 'targets' line and check.json report the wrong figure as met or not."),
    # ------------------------------------------------------------------ simulate-centres (2)
    dict(name="r6-simulate-centres-weight-decay-sign", file="dsan_tf/cli/simulate_centres.py",
         old="lambda1, lambda2, alpha) + weight_decay * centres",
         new="lambda1, lambda2, alpha) - weight_decay * centres",
         tests=SIMULATE,
         why="the coupled weight decay has the wrong sign: it grows the centres instead of shrinking them "
             "(--weight-decay 1e-4 looks harmless; a larger one blows the norm ratio up)."),
    dict(name="r6-simulate-centres-last-full-batch-dropped", file="dsan_tf/cli/simulate_centres.py",
         old="for start in range(0, len(labels) - batch_size + 1, batch_size):",
         new="for start in range(0, len(labels) - batch_size, batch_size):",
         tests=SIMULATE,
         why="off by one: when the batch size divides the features the last full batch of every epoch is "
             "never replayed (one batch of 64 faces: no step at all)."),
    # ------------------------------------------------------------------ ship, pretrained (3)
    dict(name="r6-ship-agreement-equal-to-minimum-refused", file="dsan_tf/cli/ship_model.py",
         old="if agreement < args.min_agreement:",
         new="if agreement <= args.min_agreement:",
         tests=SHIP,
         why="--min-agreement is 'the least share': an agreement equal to it is refused, so "
             "--min-agreement 1 refuses even a float16 copy that agrees on every image."),
    dict(name="r6-ship-other-models-dropped", file="dsan_tf/cli/ship_model.py",
         old="if entry.name not in pair and entry.name != MARKER and entry.is_file():",
         new="if entry.name in pair and entry.name != MARKER and entry.is_file():",
         tests=SHIP,
         why="the other files of --output are not carried into the staged folder: shipping 'rafdb' into a "
             "folder holding 'ferplus' deletes the ferplus pair when the folders are swapped."),
    dict(name="r6-pretrained-record-without-weights-not-refused", file="dsan_tf/pretrained.py",
         old="if name not in available(directory):",
         new="if not path.is_file():",
         tests=("tests/test_pretrained.py", "tests/test_shipped_model.py"),
         why="a NAME.json whose weights file is missing passes metadata(): load() then fails opening the "
             "weights with a bare FileNotFoundError instead of 'no shipped model named ...'."),
    # ------------------------------------------------------------------ bench, bench-pipeline, bench-serving (4)
    dict(name="r6-bench-precisions-defaults-swapped", file="dsan_tf/cli/bench.py",
         old='args.precisions = ("float32",) if args.against_torch else PRECISIONS',
         new='args.precisions = PRECISIONS if args.against_torch else ("float32",)',
         tests=BENCH,
         why="the defaults of --precisions are swapped: the DSAN/baseline rounds time float32 only, and "
             "--against-torch times every policy (bfloat16 emulated: ~11x slower) against PyTorch's float32."),
    dict(name="r6-bench-profile-other-list-cut-to-shorter", file="dsan_tf/cli/bench.py",
         old="for i in range(max(map(len, tops))):",
         new="for i in range(min(map(len, tops))):",
         tests=BENCH,
         why="--profile's 'largest op types in other' list stops at the shorter framework's list: with no "
             "PyTorch op in 'other', TF's are not printed at all."),
    dict(name="r6-bench-pipeline-precision-default-bfloat16", file="dsan_tf/cli/bench_pipeline.py",
         old='parser.add_argument("--precision", choices=CHOICES, default="auto",',
         new='parser.add_argument("--precision", choices=CHOICES, default="mixed_bfloat16",',
         tests=("tests/test_accounting.py", "tests/test_data_pipeline.py"),
         why="the step is timed in mixed_bfloat16 by default (the helper's own default) instead of what dsan "
             "train would use: on an AVX2-only CPU bfloat16 is emulated, ~11x slower, and the ratio lies."),
    dict(name="r6-bench-serving-weights-not-an-input", file="dsan_tf/cli/bench_serving.py",
         old="inputs=[args.weights])",
         new="inputs=[])",
         tests=("tests/test_export.py", "tests/test_output_policy_commands.py"),
         why="the model is not named an input of the output policy: --json RUN/model.keras --overwrite "
             "replaces the trained model with the timing results."),
    # ------------------------------------------------------------------ profile, calibrate (4)
    dict(name="r6-profile-paper-row-any-sa-layers", file="dsan_tf/cli/profile.py",
         old="and (args.num_splits, args.reduction, args.sa_layers) == (4, 2, 2)",
         new="and (args.num_splits, args.reduction) == (4, 2)",
         tests=("tests/test_profiling.py",),
         why="--sa-layers 1 still gets the paper's Table 1 row beside it (the paper's model has two SA "
             "layers): a count that cannot match is printed as a comparison."),
    dict(name="r6-profile-table-diff-from-flops", file="dsan_tf/cli/profile.py",
         old="f\"{_pct(result['macs'], paper['mflops'] * 1e6) if paper else '-':>11s}\"",
         new="f\"{_pct(result['flops'], paper['mflops'] * 1e6) if paper else '-':>11s}\"",
         tests=("tests/test_profiling.py",),
         why="--table's diff column compares FLOPs with the paper's 'MFLOPs' (which are MACs), the very "
             "confusion the note warns about: every diff reads about +100 %."),
    dict(name="r6-calibrate-worst-class-is-best", file="dsan_tf/cli/calibrate.py",
         old='worst = min(row["per_class_accuracy"], key=row["per_class_accuracy"].get)',
         new='worst = max(row["per_class_accuracy"], key=row["per_class_accuracy"].get)',
         tests=("tests/test_calibration.py",),
         why="the table's 'worst class' column names the best class and its accuracy: the class that τ "
             "should lift is hidden."),
    dict(name="r6-calibrate-label-mode-default-majority", file="dsan_tf/cli/calibrate.py",
         old='p.add_argument("--label-mode", choices=("majority", "probability"), default="probability",',
         new='p.add_argument("--label-mode", choices=("majority", "probability"), default="majority",',
         tests=("tests/test_calibration.py",),
         why="the documented default (the cpu preset's soft FERPlus labels) is changed: the priors of a "
             "model trained on soft labels come from majority votes unless the flag is given."),
    # ------------------------------------------------------------------ ablate, train, presets (4)
    dict(name="r6-ablate-any-folder-with-a-point-taken-over", file="dsan_tf/cli/ablate.py",
         old='return bool(entries & names) and entries <= names | {"ablation.json"}',
         new='return bool(entries & names) or entries <= names | {"ablation.json"}',
         tests=("tests/test_ablate.py",),
         why="an unmarked folder is taken for an old grid when it merely holds one point's folder name (or "
             "nothing but ablation.json): a folder of the user's with other files is taken over."),
    dict(name="r6-ablate-unfinished-point-not-resumed", file="dsan_tf/cli/ablate.py",
         old='if (output / "config.json").is_file():',
         new='if (output / "model.keras").is_file():',
         tests=("tests/test_ablate.py",),
         why="a grid point interrupted during training (config.json, no model.keras yet) is started again "
             "without --resume: dsan train refuses its folder or its checkpoints are lost."),
    dict(name="r6-run-continue-line-without-output", file="dsan_tf/cli/run.py",
         old="if not args.output:",
         new="if args.output:",
         tests=("tests/test_run.py", "tests/test_cli.py"),
         why="after Ctrl-C of a run with the default output folder, the printed command to continue lacks "
             "--output (and one given by the user is repeated): `... --resume` alone is refused."),
    dict(name="r6-presets-cpu-long-epochs", file="dsan_tf/presets.py",
         old="    epochs=30,",
         new="    epochs=40,",
         tests=("tests/test_run.py", "tests/test_flags.py"),
         why="the cpu-long preset (the shipped model's recipe, 30 epochs in MODEL_CARD.md) trains 40 epochs: "
             "the recipe no longer reproduces the shipped model."),
    # ------------------------------------------------------------------ table4, compare (2)
    dict(name="r6-table4-column-names-case-sensitive", file="dsan_tf/cli/table4.py",
         old='key = re.sub(r"[\\s_\\->°]", "", subset_name.lower())',
         new='key = re.sub(r"[\\s_\\->°]", "", subset_name)',
         tests=("tests/test_table4.py",),
         why="the documented 'case ignored' is lost: a subset named Occlusion or Pose_30 is listed under the "
             "table as 'not a Table 4 column' and its cell is a dash."),
    dict(name="r6-compare-epochs-cut-one-late", file="dsan_tf/cli/compare.py",
         old='history = history[history["epoch"] < epochs].reset_index(drop=True)',
         new='history = history[history["epoch"] <= epochs].reset_index(drop=True)',
         tests=("tests/test_compare.py",),
         why="off by one: --epochs 8 keeps nine epochs (history.csv counts from 0), so the training accuracy "
             "is epoch 9's and runs are not compared over the same epochs."),
    # ------------------------------------------------------------------ data commands (3)
    dict(name="r6-make-sample-seven-classes", file="dsan_tf/cli/make_sample.py",
         old="for k in range(8):",
         new="for k in range(7):",
         tests=DATA_COMMANDS,
         why="the sample draws from seven classes (RAF-DB's count): FERPlus' contempt is missing, against the "
             "docstring's 'all 8 classes are present in each split'."),
    dict(name="r6-tfrecords-crop-inverted", file="dsan_tf/cli/make_tfrecords.py",
         old="crop_boxes=not args.no_crop,",
         new="crop_boxes=args.no_crop,",
         tests=("tests/test_tfrecords.py",) + DATA_COMMANDS,
         why="--no-crop inverted: AffectNet images are stored uncropped by default (the whole photo, not the "
             "face) and cropped only when the user asks not to."),
    dict(name="r6-data-summary-notes-on-stdout", file="dsan_tf/cli/data_summary.py",
         old='print(f"note: {note}", file=sys.stderr)',
         new='print(f"note: {note}")',
         tests=DATA_COMMANDS,
         why="the reader's notes go to stdout, mixed into the table that the docstring keeps on stdout alone."),
    # ------------------------------------------------------------------ analyze, exports (3)
    dict(name="r6-analyze-five-images-refused", file="dsan_tf/cli/analyze.py",
         old="if len(table) < 5:",
         new="if len(table) <= 5:",
         tests=("tests/test_analyze.py",),
         why="off by one: a split (or --max-images 5, the flag's documented least) of exactly 5 images is "
             "refused as too few for t-SNE."),
    dict(name="r6-export-own-config-not-updated", file="dsan_tf/cli/export_savedmodel.py",
         old="if not os.path.lexists(path) or made_by_export(path):",
         new="if not os.path.lexists(path):",
         tests=("tests/test_export.py",),
         why="a models.config this command wrote itself is treated as the user's: a second --version goes "
             "to models.config.dsan and the served config never lists it."),
    dict(name="r6-export_tflite-status-from-last-model", file="dsan_tf/cli/export_tflite.py",
         old="ok &= passed",
         new="ok = passed",
         tests=("tests/test_export_tflite.py",),
         why="the exit status follows the last model only: a float32 TFLite model below its 99.9 % agreement "
             "exits 0 when the quantised one passes."),
    # ------------------------------------------------------------------ library modules (8)
    dict(name="r6-distribute-validation-without-prefix", file="dsan_tf/distribute.py",
         old='return {f"val_{name}": value for name, value in _to_logs(results).items()}',
         new='return {name: value for name, value in _to_logs(results).items()}',
         tests=("tests/test_distribute.py",),
         why="the multi-worker loop's validation metrics lose their val_ prefix: they overwrite the training "
             "metrics in the epoch's logs (history.csv has no val_ columns, the training accuracy is the "
             "validation one)."),
    dict(name="r6-video_outputs-upper-case-suffix-refused", file="dsan_tf/video_outputs.py",
         old="codec = VIDEO_SUFFIXES.get(path.suffix.lower())",
         new="codec = VIDEO_SUFFIXES.get(path.suffix)",
         tests=("tests/test_predict.py", "tests/test_plots.py"),
         why="an annotated video named OUT.MP4 passes is_video_output (which ignores case) and is then "
             "refused by the writer after the whole video was processed."),
    dict(name="r6-resnet-layer1-downsamples", file="dsan_tf/resnet.py",
         old="strides = 2 if (block == 0 and stage > 1) else 1",
         new="strides = 2 if (block == 0 and stage > 0) else 1",
         tests=("tests/test_model.py", "tests/test_fused_batchnorm.py", "tests/test_torch_import.py"),
         why="off by one: layer1 halves the map too (torchvision's layer1 keeps it): the trunk's stride is 64, "
             "the last map of a 224 px face 4x4 instead of 7x7, and PyTorch weights no longer reproduce."),
    dict(name="r6-io_utils-check-output-path-folder-by-default", file="dsan_tf/io_utils.py",
         old='def check_output_path(path, *, inputs=(), folder: bool = False, flag: str = "--output") -> Path:',
         new='def check_output_path(path, *, inputs=(), folder: bool = True, flag: str = "--output") -> Path:',
         tests=("tests/test_write_primitives.py", "tests/test_output_policy.py"),
         why="check_output_path expects a folder unless told otherwise: a caller checking a file (export's "
             "models.config, an existing one) is refused with 'a file where a folder is expected'."),
    dict(name="r6-precision-compute-capability-7-excluded", file="dsan_tf/precision.py",
         old='if tuple(details.get("compute_capability", (0, 0))) >= (7, 0):',
         new='if tuple(details.get("compute_capability", (0, 0))) > (7, 0):',
         tests=("tests/test_training.py", "tests/test_run.py"),
         why="off by one: a V100 (compute capability 7.0, the first with tensor cores) is not a float16 GPU "
             "and 'auto' trains it in float32."),
    dict(name="r6-optimizers-amsgrad-fused", file="dsan_tf/optimizers.py",
         old='if self.amsgrad or isinstance(gradient, tf.IndexedSlices) or not hasattr(variable, "handle"):',
         new='if isinstance(gradient, tf.IndexedSlices) or not hasattr(variable, "handle"):',
         tests=("tests/test_fused_adam.py",),
         why="FusedAdam(amsgrad=True) runs the plain fused Adam kernel: the max of past second moments is "
             "never used, and the optimiser silently is not AMSGrad."),
    dict(name="r6-progress-bar-when-stdout-is-a-terminal", file="dsan_tf/progress.py",
         old="show = self.progress_bar if self.progress_bar is not None else _is_terminal(sys.stderr)",
         new="show = self.progress_bar if self.progress_bar is not None else _is_terminal(sys.stdout)",
         tests=("tests/test_training.py", "tests/test_cli.py"),
         why="the bar (drawn on stderr) is shown when stdout is a terminal: `dsan train ... 2> log` fills "
             "the log with bars, and `dsan train > log` on a terminal shows none."),
    dict(name="r6-progress-accuracy-as-fraction", file="dsan_tf/progress.py",
         old="parts.append(f\"accuracy {float(logs['accuracy']):.2%}\")",
         new="parts.append(f\"accuracy {float(logs['accuracy']):.2f}\")",
         tests=("tests/test_training.py", "tests/test_cli.py"),
         why="the epoch line prints the training accuracy as a fraction ('accuracy 0.46') beside a validation "
             "accuracy in percent ('val accuracy 50.12%')."),
]
