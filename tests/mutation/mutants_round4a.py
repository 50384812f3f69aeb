"""Round 4 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.
"""

RUN = ("tests/test_run.py", "tests/test_resume_validation.py")
SHIP = ("tests/test_pretrained.py", "tests/test_shipped_model.py")
DATA_COMMANDS = ("tests/test_data_commands.py",)

FRESH_ROUND4A = [
    # ------------------------------------------------------------------ dsan ablate (2)
    dict(name="r4-ablate-std-only-from-three-seeds", file="dsan_tf/cli/ablate.py",
         old="several = len(runs) > 1",
         new="several = len(runs) > 2",
         tests=("tests/test_ablate.py",),
         why="off by one: a grid run with two seeds shows no ± std (null in ablation.json) although the "
             "table says mean ± sample std."),
    dict(name="r4-ablate-point-accuracy-as-percent-accepted", file="dsan_tf/cli/ablate.py",
         old="if not 0 <= metrics[key] <= 1:",
         new="if not 0 <= metrics[key] <= 100:",
         tests=("tests/test_ablate.py",),
         why="a finished point whose metrics.json holds a percentage (or damage such as 7.0) is read back "
             "and the table prints 700 %."),
    # ------------------------------------------------------------------ dsan analyze (2)
    dict(name="r4-analyze-subset-ignores-seed", file="dsan_tf/cli/analyze.py",
         old="table = table.sample(n=args.max_images, random_state=args.seed)",
         new="table = table.sample(n=args.max_images, random_state=0)",
         tests=("tests/test_analyze.py",),
         why="--seed no longer changes the --max-images subset (documented: 'seed of the subset and of t-SNE')."),
    dict(name="r4-analyze-damaged-summary-taken-over", file="dsan_tf/cli/analyze.py",
         old="    except StateFileError:\n        return False\n",
         new="    except StateFileError:\n        return True\n",
         tests=("tests/test_analyze.py",),
         why="an unmarked folder whose summary.json is not an analysis summary (a user's file, damaged "
             "JSON) is taken as an earlier analysis: its files are replaced without --overwrite."),
    # ------------------------------------------------------------------ dsan compare (2)
    dict(name="r4-compare-classes-compared-by-count", file="dsan_tf/cli/compare.py",
         old="if set(other) != set(names):",
         new="if len(other) != len(names):",
         tests=("tests/test_compare.py",),
         why="runs scored on different classes of the same number (RAF-DB vs FERPlus-7 names) are put side "
             "by side; the per-class columns then raise a KeyError instead of the one-line refusal."),
    dict(name="r4-compare-fewer-labels-than-runs", file="dsan_tf/cli/compare.py",
         old="if args.labels is not None and len(args.labels) != len(args.runs):",
         new="if args.labels is not None and len(args.labels) > len(args.runs):",
         tests=("tests/test_compare.py",),
         why="--labels with fewer names than runs is accepted: zip drops the unlabelled runs from the "
             "table and figure silently."),
    # ------------------------------------------------------------------ dsan table4 (2)
    dict(name="r4-table4-affectnet8-own-block", file="dsan_tf/cli/table4.py",
         old='return "affectnet" if dataset.startswith("affectnet") else dataset',
         new='return "affectnet" if dataset == "affectnet7" else dataset',
         tests=("tests/test_table4.py",),
         why="an AffectNet-8 run gets a block of its own without the paper's AffectNet rows or list sizes."),
    dict(name="r4-table4-cell-fraction-not-percent", file="dsan_tf/cli/table4.py",
         old="return f\"{100 * subset['accuracy']:.2f} ({subset['count']}{of})\"",
         new="return f\"{subset['accuracy']:.2f} ({subset['count']}{of})\"",
         tests=("tests/test_table4.py",),
         why="wrong unit: the run's cells show 0.85 beside the paper's 85.31 (%)."),
    # ------------------------------------------------------------------ dsan tfrecords (2)
    dict(name="r4-tfrecords-label-mode-check-inverted", file="dsan_tf/cli/make_tfrecords.py",
         old='if args.label_mode != "majority" and args.dataset != "ferplus":',
         new='if args.label_mode != "majority" and args.dataset == "ferplus":',
         tests=("tests/test_tfrecords.py",) + DATA_COMMANDS,
         why="--label-mode probability is refused for FERPlus (the one dataset it is for) and accepted "
             "(ignored) for the others."),
    dict(name="r4-tfrecords-default-split-valid", file="dsan_tf/cli/make_tfrecords.py",
         old='splits = args.split or ["train"]',
         new='splits = args.split or ["valid"]',
         tests=("tests/test_tfrecords.py",) + DATA_COMMANDS,
         why="wrong default: without --split the validation split is written, not the documented train."),
    # ------------------------------------------------------------------ dsan bench-serving (1)
    dict(name="r4-bench-serving-status-when-faster", file="dsan_tf/cli/bench_serving.py",
         old="            if ratio > 1:\n",
         new="            if ratio < 1:\n",
         tests=("tests/test_export.py", "tests/test_exit_statuses.py"),
         why="the documented exit status is inverted: status 1 when the SavedModel is faster than "
             "model.predict, 0 when it is slower."),
    # ------------------------------------------------------------------ dsan make-sample (2)
    dict(name="r4-make-sample-per-class-swapped", file="dsan_tf/cli/make_sample.py",
         old='per_class = args.train_per_class if split == "train" else args.valid_per_class',
         new='per_class = args.train_per_class if split == "valid" else args.valid_per_class',
         tests=DATA_COMMANDS,
         why="--train-per-class and --valid-per-class go to each other's split: 12 training and 36 "
             "validation images per class by default."),
    dict(name="r4-make-sample-rows-not-in-file-order", file="dsan_tf/cli/make_sample.py",
         old="    return sorted(picked)\n",
         new="    return picked\n",
         tests=DATA_COMMANDS,
         why="the chosen label.csv lines are written class by class in random order, not 'verbatim, in "
             "their original order' as documented."),
    # ------------------------------------------------------------------ dsan profile (2)
    dict(name="r4-profile-paper-row-for-more-classes", file="dsan_tf/cli/profile.py",
         old="args.num_classes == PAPER_K\n",
         new="args.num_classes >= PAPER_K\n",
         tests=("tests/test_profiling.py",),
         why="an 8-class model at 224 px is printed beside the paper's 7-class Table 1 figures as if "
             "comparable."),
    dict(name="r4-profile-json-image-size-field", file="dsan_tf/cli/profile.py",
         old='"image_size": args.image_size,',
         new='"image_size": args.num_classes,',
         tests=("tests/test_profiling.py",),
         why="wrong field: --json reports image_size 7 for a 224 px model."),
    # ------------------------------------------------------------------ dsan simulate-centres (2)
    dict(name="r4-simulate-centres-push-not-per-example", file="dsan_tf/cli/simulate_centres.py",
         old="return (pull + counts * rule.beta * push) / (1.0 + counts)",
         new="return (pull + rule.beta * push) / (1.0 + counts)",
         tests=("tests/test_simulate_centres.py",),
         why="the centre-loss rule's L_CCS push is not charged per example of the class as the model's "
             "step does: the simulated push is 1/n of the real one."),
    dict(name="r4-simulate-centres-label-past-names", file="dsan_tf/cli/simulate_centres.py",
         old="or labels.max() >= len(class_names):",
         new="or labels.max() > len(class_names):",
         tests=("tests/test_simulate_centres.py",),
         why="off by one: a features file whose labels reach len(class_names) is read; the replay then "
             "has a class without a name instead of the one-line refusal."),
    # ------------------------------------------------------------------ dsan train (2)
    dict(name="r4-train-interrupt-line-resume-inverted", file="dsan_tf/cli/run.py",
         old="    if not args.resume:\n        command.append",
         new="    if args.resume:\n        command.append",
         tests=RUN,
         why="after Ctrl-C the printed command to continue lacks --resume (and a resumed run's line has "
             "it twice): the suggested command refuses the existing run folder."),
    dict(name="r4-train-subset-without-list-accepted", file="dsan_tf/cli/run.py",
         old="return text if sep and name.strip() and path.strip() else None",
         new="return text if sep and name.strip() else None",
         tests=RUN,
         why="--subset occlusion= (no list file) passes the argument check and fails later instead of "
             "as an argument error."),
    # ------------------------------------------------------------------ dsan export savedmodel (2)
    dict(name="r4-export-config-dir-inside-output", file="dsan_tf/cli/export_savedmodel.py",
         old="args.config_dir = args.config_dir or args.output.resolve().parent",
         new="args.config_dir = args.config_dir or args.output.resolve()",
         tests=("tests/test_export.py",),
         why="wrong default: models.config and batching_parameters.txt go inside the model folder (beside "
             "the version folders) instead of beside it, where the docker layout expects them."),
    dict(name="r4-export-own-beside-file-not-updated", file="dsan_tf/cli/export_savedmodel.py",
         old="elif not os.path.lexists(beside) or made_by_export(beside):",
         new="elif not os.path.lexists(beside):",
         tests=("tests/test_export.py",),
         why="the models.config.dsan this command wrote beside a user's models.config is never updated "
             "again: a second export's version is not added to it."),
    # ------------------------------------------------------------------ dsan explain (2)
    dict(name="r4-explain-same-photo-twice", file="dsan_tf/cli/explain.py",
         old="                seen.add(key)\n",
         new="",
         tests=("tests/test_explain.py",),
         why="a photo named twice (or named and inside a named folder) is explained twice: duplicate CSV "
             "rows and a second annotated copy photo_2.jpg."),
    dict(name="r4-explain-check-with-faces-accepted", file="dsan_tf/cli/explain.py",
         old="if args.check and (args.faces or args.target != PREDICTED):",
         new="if args.check and (args.faces and args.target != PREDICTED):",
         tests=("tests/test_explain.py",),
         why="'or' written 'and': --check --faces (or --check --target happy) is accepted and the flag "
             "silently ignored."),
    # ------------------------------------------------------------------ dsan ship (2)
    dict(name="r4-ship-hidden-name-accepted", file="dsan_tf/cli/ship_model.py",
         old='or "\\0" in name or name.startswith(".")):',
         new='or "\\0" in name):',
         tests=SHIP,
         why="--name .ferplus is accepted: the shipped pair is written as hidden files that "
             "pretrained.load lists nowhere."),
    dict(name="r4-ship-lone-weights-file-replaced", file="dsan_tf/cli/ship_model.py",
         old="return not os.path.lexists(weights_path)  # a lone weights file",
         new="return True  # a lone weights file",
         tests=SHIP,
         why="a NAME.weights.npz without its NAME.json (someone else's file) is taken for a pair this "
             "command wrote and replaced without --overwrite."),
    # ------------------------------------------------------------------ dsan bench-realtime (1)
    dict(name="r4-bench-realtime-json-status-always-0", file="dsan_tf/cli/bench_realtime.py",
         old='        return 0 if all(r["frames"] for r in reports) else 1\n',
         new="        return 0\n",
         tests=("tests/test_realtime.py",),
         why="with --json a video of no frames exits 0, unlike the text mode: a script's check passes."),
    # ------------------------------------------------------------------ dsan data-summary (1)
    dict(name="r4-data-summary-sample-note-on-stdout", file="dsan_tf/cli/data_summary.py",
         old='"(no --data-dir: using the embedded FERPlus sample)", file=sys.stderr',
         new='"(no --data-dir: using the embedded FERPlus sample)", file=sys.stdout',
         tests=DATA_COMMANDS,
         why="wrong stream: the note goes to stdout, so --json output is no longer one JSON object."),
    # ------------------------------------------------------------------ dsan align (1)
    dict(name="r4-align-report-taken-for-ledger", file="dsan_tf/cli/align_faces.py",
         old='accept=lambda f: (f / ".align-ledger.csv").is_file()',
         new='accept=lambda f: (f / "align-report.csv").is_file()',
         tests=("tests/test_align.py",),
         why="wrong file: an unmarked folder holding any align-report.csv is taken over, and an earlier "
             "version's folder with its ledger (and its report elsewhere) is refused."),
    # ------------------------------------------------------------------ dsan bench-pipeline (1)
    dict(name="r4-bench-pipeline-ratio-inverted", file="dsan_tf/cli/bench_pipeline.py",
         old='ratio=round(result["pipeline_images_per_s"] / step, 2)',
         new='ratio=round(step / result["pipeline_images_per_s"], 2)',
         tests=("tests/test_data_pipeline.py",) + DATA_COMMANDS,  # + the file of the bench-pipeline tests (phase 3)
         why="swapped operands: the 'pipeline / step' ratio (target >= 5x) is step / pipeline."),
    # ------------------------------------------------------------------ dsan calibrate (2)
    dict(name="r4-calibrate-mirror-not-corrected", file="dsan_tf/cli/calibrate.py",
         old='probabilities = (probabilities + adjust(mirrored["probabilities"], scale)) / 2',
         new='probabilities = (probabilities + mirrored["probabilities"]) / 2',
         tests=("tests/test_calibration.py",),
         why="flip-averaging rows average a corrected face with an uncorrected mirror: the table's "
             "flip rows are not what --apply TAU --flip-average saves."),
    dict(name="r4-calibrate-priors-from-scored-split", file="dsan_tf/cli/calibrate.py",
         old='np.stack(train.split("train")["target"].to_numpy())',
         new='np.stack(train.split(args.split)["target"].to_numpy())',
         tests=("tests/test_calibration.py",),
         why="the priors are the scored split's class frequencies, not the training split's as documented "
             "(and the split the correction is chosen on leaks into it)."),
]
