"""Round 4 blind mutants, part b (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.
"""

PROFILING = ("tests/test_profiling.py",)
ANALYSIS = ("tests/test_analyze.py",)
EVALUATION = ("tests/test_evaluation.py",)
PRESETS = ("tests/test_run.py",)
PRECISION = ("tests/test_training.py", "tests/test_flags.py")
OPTIMIZERS = ("tests/test_fused_adam.py",)
TORCH = ("tests/test_torch_import.py",)
RESNET = ("tests/test_fused_batchnorm.py", "tests/test_model.py")
PRETRAINED = ("tests/test_pretrained.py",)
PLOTS = ("tests/test_plots.py",)
QUIET = ("tests/test_first_run.py", "tests/test_api.py")
DISTRIBUTE = ("tests/test_distribute.py",)
VIDEO = ("tests/test_realtime.py",)
EXPLAIN_CHECK = ("tests/test_explain_check.py",)
TFLITE = ("tests/test_export_tflite.py",)
TFRECORDS = ("tests/test_tfrecords.py",)
TABLE = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
REGISTRY = ("tests/test_data_readers.py",)
SUBSETS = ("tests/test_data_subsets.py",)
IMAGES = ("tests/test_images.py",)
PREPROCESS = ("tests/test_data_preprocess.py", "tests/test_pixels.py")
CLASSES = ("tests/test_vocabulary.py", "tests/test_data_readers.py")

FRESH_ROUND4B = [
    # ------------------------------------------------------------------ profiling (2)
    dict(name="r4-profiling-hfe-macs-one-c", file="dsan_tf/profiling.py",
         old="hfe = f * c * c if layer.use_hfe else 0",
         new="hfe = f * c if layer.use_hfe else 0",
         tests=PROFILING,
         why="the grouped (F, c, c) HFE2 einsum is counted as F*c MACs, not F*c*c: the DSAN's MAC figure "
             "(and its gap to the paper's Table 1) is wrong."),
    dict(name="r4-profiling-centres-counted-trainable", file="dsan_tf/profiling.py",
         old="trainable = [v for v in model.trainable_weights if id(v) not in centre_ids]",
         new="trainable = list(model.trainable_weights)",
         tests=PROFILING,
         why="the class centres (K x d) are counted among the network's trainable parameters as well as "
             "apart: params_trainable is off by K*d against the paper's convention."),
    # ------------------------------------------------------------------ analysis (2)
    dict(name="r4-analysis-zero-share-wrong-axis", file="dsan_tf/analysis.py",
         old="per_image = (np.asarray(attention) == 0).mean(axis=1)",
         new="per_image = (np.asarray(attention) == 0).mean(axis=0)",
         tests=ANALYSIS,
         why="P(a=0) is averaged over the images per attention unit instead of over the d units per image: "
             "the per-class figures index the wrong axis (or fail when N != d)."),
    dict(name="r4-analysis-lfa-std-over-chunks", file="dsan_tf/analysis.py",
         old='"std": rows.std(axis=0).tolist()',
         new='"std": rows.std(axis=1).tolist()',
         tests=ANALYSIS,
         why="the spread of each gate b_f is taken across the chunks of an image, not across the images: "
             "a list of N values instead of F, and the wrong error bars in the summary."),
    # ------------------------------------------------------------------ evaluation (2)
    dict(name="r4-evaluation-support-by-predicted", file="dsan_tf/evaluation.py",
         old="support = matrix.sum(axis=1)",
         new="support = matrix.sum(axis=0)",
         tests=EVALUATION,
         why="per-class accuracy divides the hits by how often the class was PREDICTED (precision) instead "
             "of by its true count (recall): the paper's Avg. Acc. is wrong."),
    dict(name="r4-evaluation-subset-count-all-rows", file="dsan_tf/evaluation.py",
         old='"count": int(mask.sum()),',
         new='"count": int(len(mask)),',
         tests=EVALUATION,
         why="each RAN subset (occlusion, pose) reports the whole split's size instead of its own images."),
    # ------------------------------------------------------------------ presets (1)
    dict(name="r4-presets-resolve-aliases-preset", file="dsan_tf/presets.py",
         old="settings = dict(PRESETS[preset])",
         new="settings = PRESETS[preset]",
         tests=PRESETS,
         why="resolve returns the preset itself, and the AffectNet update is written into PAPER: after one "
             "'paper' AffectNet run, every later 'paper' run (FERPlus too) trains at 1e-4 with oversampling."),
    # ------------------------------------------------------------------ precision (1)
    dict(name="r4-precision-union-of-flags", file="dsan_tf/precision.py",
         old="native = sorted(set(NATIVE_BFLOAT16_FLAGS) & set(flags))",
         new="native = sorted(set(NATIVE_BFLOAT16_FLAGS) | set(flags))",
         tests=PRECISION,
         why="union for intersection: 'auto' picks mixed_bfloat16 on every CPU, also the AVX2-only ones "
             "that emulate it about 11x slower."),
    # ------------------------------------------------------------------ optimizers (1)
    dict(name="r4-optimizers-beta1-power-uses-beta2", file="dsan_tf/optimizers.py",
         old="beta1_power=tf.pow(beta_1, step),",
         new="beta1_power=tf.pow(beta_2, step),",
         tests=OPTIMIZERS,
         why="the first moment's bias correction uses beta_2^t: early Adam steps are far too large and "
             "FusedAdam no longer matches Keras' Adam."),
    # ------------------------------------------------------------------ torch_import (2)
    dict(name="r4-torch_import-running-stats-swapped", file="dsan_tf/torch_import.py",
         old='"running_mean": "moving_mean", "running_var": "moving_variance"}',
         new='"running_mean": "moving_variance", "running_var": "moving_mean"}',
         tests=TORCH,
         why="BatchNorm's running mean and variance are assigned to each other: the imported MS-Celeb "
             "trunk gives other features than PyTorch's."),
    dict(name="r4-torch_import-num-batches-tracked-unexpected", file="dsan_tf/torch_import.py",
         old="if not key.startswith(IGNORED_PREFIXES) and not key.endswith(IGNORED_SUFFIXES)",
         new="if not key.startswith(IGNORED_PREFIXES)",
         tests=TORCH,
         why="'*.num_batches_tracked' is no longer ignored: every real torchvision checkpoint is refused "
             "with 20 unexpected keys."),
    # ------------------------------------------------------------------ resnet (2)
    dict(name="r4-resnet-fused-moving-variance-unbiased", file="dsan_tf/resnet.py",
         old="variance = unbiased_variance * ((count - 1.0) / tf.maximum(count, 1.0))",
         new="variance = unbiased_variance",
         tests=RESNET,
         why="the fused BatchNorm averages the unbiased batch variance into the moving variance, not the "
             "biased one Keras' layer uses: inference statistics differ from Keras' path."),
    dict(name="r4-resnet-fused-moving-mean-momentum-swapped", file="dsan_tf/resnet.py",
         old="self.moving_mean.assign(tf.cast(self.moving_mean, tf.float32) * momentum + mean * (1.0 - momentum))",
         new="self.moving_mean.assign(tf.cast(self.moving_mean, tf.float32) * (1.0 - momentum) + mean * momentum)",
         tests=RESNET,
         why="momentum and 1 - momentum swapped: the moving mean follows the last batch almost entirely."),
    # ------------------------------------------------------------------ pretrained (1)
    dict(name="r4-pretrained-available-without-weights", file="dsan_tf/pretrained.py",
         old='return sorted(p.stem for p in directory.glob("*.json") if (directory / f"{p.stem}{WEIGHTS_SUFFIX}").is_file())',
         new='return sorted(p.stem for p in directory.glob("*.json"))',
         tests=PRETRAINED,
         why="a NAME.json without its weights file is listed as shipped: load() then fails on a missing "
             "file instead of 'no shipped model named ...'."),
    # ------------------------------------------------------------------ plots (1)
    dict(name="r4-plots-percent-not-scaled", file="dsan_tf/plots.py",
         old='f"{100 * value:.{digits}f}{unit}"',
         new='f"{value:.{digits}f}{unit}"',
         tests=PLOTS,
         why="percent(0.8402) prints '0.84 %' instead of '84.02 %' in every comparison legend and table."),
    # ------------------------------------------------------------------ quiet (1)
    dict(name="r4-quiet-api-ignores-dsan-verbose", file="dsan_tf/quiet.py",
         old='if "tensorflow" in sys.modules or os.environ.get("DSAN_VERBOSE"):',
         new='if "tensorflow" in sys.modules:',
         tests=QUIET,
         why="DSAN_VERBOSE=1 no longer shows TensorFlow's start-up lines for a Python API user."),
    # ------------------------------------------------------------------ distribute (2)
    dict(name="r4-distribute-ignores-initial-epoch", file="dsan_tf/distribute.py",
         old="for epoch in range(initial_epoch, epochs):",
         new="for epoch in range(epochs):",
         tests=DISTRIBUTE,
         why="a resumed multi-worker run trains its finished epochs again (initial_epoch ignored)."),
    dict(name="r4-distribute-keeps-remainder", file="dsan_tf/distribute.py",
         old="return dataset.batch(batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE)",
         new="return dataset.batch(batch).prefetch(tf.data.AUTOTUNE)",
         tests=DISTRIBUTE,
         why="a short last batch is kept: replicas get unequal examples and the global-batch averaging "
             "no longer gives one replica's update."),
    # ------------------------------------------------------------------ video_outputs (1)
    dict(name="r4-video_outputs-track-zero-unlabelled", file="dsan_tf/video_outputs.py",
         old='if r.get("track") is not None else r for r in rows]',
         new='if r.get("track") else r for r in rows]',
         tests=VIDEO,
         why="truthiness for 'is not None': the first face's track 0 loses its '#0' prefix in the video."),
    # ------------------------------------------------------------------ explain_check (2)
    dict(name="r4-explain_check-chance-max-not-union", file="dsan_tf/explain_check.py",
         old="return float(sum((REGIONS[p][1] - REGIONS[p][0]) * (REGIONS[p][3] - REGIONS[p][2]) for p in parts))",
         new="return float(max((REGIONS[p][1] - REGIONS[p][0]) * (REGIONS[p][3] - REGIONS[p][2]) for p in parts))",
         tests=EXPLAIN_CHECK,
         why="the chance of the 'mouth or eyes' region is the larger area (27 %), not the union (51 %): "
             "surprise's pointing rate is compared with too low a chance."),
    dict(name="r4-explain_check-pointing-ignores-prediction", file="dsan_tf/explain_check.py",
         old="chosen = (labels == k) & (predicted == k) & has_peak",
         new="chosen = (labels == k) & has_peak",
         tests=EXPLAIN_CHECK,
         why="the pointing rate counts happy faces the model did not call happy (their map is of another "
             "class): the figure is not the one documented."),
    # ------------------------------------------------------------------ tflite_predictor (1)
    dict(name="r4-tflite_predictor-grey-setting-lost", file="dsan_tf/tflite_predictor.py",
         old="self.grayscale_input = like.grayscale_input",
         new="self.grayscale_input = False",
         tests=TFLITE,
         why="the TFLite predictor of a grey-trained model (the shipped ferplus) reports colour input: "
             "callers that grey faces by this setting feed it colour."),
    # ------------------------------------------------------------------ litert (1)
    dict(name="r4-litert-both-sources-accepted", file="dsan_tf/litert.py",
         old="if (model_content is None) == (model_path is None):",
         new="if model_content is None and model_path is None:",
         tests=TFLITE,
         why="giving both model_content and model_path is no longer refused; one of them is silently used."),
    # ------------------------------------------------------------------ tfrecords (2)
    dict(name="r4-tfrecords-shards-floor-division", file="dsan_tf/data/tfrecords.py",
         old="num_shards = math.ceil(count / (shard_size or DEFAULT_SHARD_SIZE))",
         new="num_shards = count // (shard_size or DEFAULT_SHARD_SIZE)",
         tests=TFRECORDS,
         why="floor for ceil: a split smaller than one shard gets 0 shards (refused), and 5 rows at "
             "shard_size=2 make 2 shards of 2-3 instead of 3."),
    dict(name="r4-tfrecords-truncated-shard-read", file="dsan_tf/data/tfrecords.py",
         old="if size != shard[\"bytes\"]:",
         new="if size < 0:",
         tests=TFRECORDS,
         why="a truncated or replaced shard is read without complaint (fails mid-epoch or trains on less)."),
    # ------------------------------------------------------------------ table (1)
    dict(name="r4-table-bmp-magic-dropped", file="dsan_tf/data/table.py",
         old='_MAGIC = (b"\\x89PNG\\r\\n\\x1a\\n", b"\\xff\\xd8\\xff", b"GIF87a", b"GIF89a", b"BM")',
         new='_MAGIC = (b"\\x89PNG\\r\\n\\x1a\\n", b"\\xff\\xd8\\xff", b"GIF87a", b"GIF89a")',
         tests=TABLE,
         why="BMP files are reported 'not an image' by the header check, though TensorFlow decodes them."),
    # ------------------------------------------------------------------ registry (1)
    dict(name="r4-registry-probability-for-any-dataset", file="dsan_tf/data/registry.py",
         old='if label_mode != "majority":',
         new='if label_mode not in LABEL_MODES:',
         tests=REGISTRY,
         why="label_mode='probability' is accepted for RAF-DB/AffectNet/folder (one label per image) and "
             "silently ignored instead of refused."),
    # ------------------------------------------------------------------ subsets (1)
    dict(name="r4-subsets-blank-line-refused", file="dsan_tf/data/subsets.py",
         old="            if not text:\n                continue",
         new="            if not line:\n                continue",
         tests=SUBSETS,
         why="blank lines (a trailing empty line is common) are parsed and refused as fitting no format."),
    # ------------------------------------------------------------------ images (1)
    dict(name="r4-images-webp-dropped", file="dsan_tf/data/images.py",
         old='IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp")',
         new='IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")',
         tests=IMAGES,
         why="WebP images are skipped by every folder scan though both decoders read them."),
    # ------------------------------------------------------------------ preprocess (2)
    dict(name="r4-preprocess-float-peak-one-exclusive", file="dsan_tf/data/preprocess.py",
         old='if mode == "F" and peak <= 1.0:',
         new='if mode == "F" and peak < 1.0:',
         tests=PREPROCESS,
         why="a 0..1 float image whose brightest pixel is exactly 1.0 is read as 0..255: almost black."),
    dict(name="r4-preprocess-crop-outside-box-empty", file="dsan_tf/data/preprocess.py",
         old="usable = (box[2] > 0) & (box[3] > 0) & (x1 > x0) & (y1 > y0)",
         new="usable = (box[2] > 0) & (box[3] > 0)",
         tests=PREPROCESS,
         why="a box wholly outside the image crops to an empty image instead of keeping the whole face."),
    # ------------------------------------------------------------------ classes (1)
    dict(name="r4-classes-ferplus-seven", file="dsan_tf/data/classes.py",
         old="FERPLUS_CLASSES = FERPLUS_VOTE_COLUMNS[:8]",
         new="FERPLUS_CLASSES = FERPLUS_VOTE_COLUMNS[:7]",
         tests=CLASSES,
         why="FER2013's 7 classes for FERPlus' 8: contempt is dropped from the FERPlus vocabulary."),
]
