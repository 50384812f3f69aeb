"""Round 6 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.

First pass (2026-12-07, ``python tests/mutation/run.py --only <these 34> --no-baseline --jobs 1 --nice 19``,
6.2 min on the shared two cores): **25/34 killed (74 %)**. Per module: data/ferplus 3/3, data/rafdb 1/1,
data/affectnet 1/2, data/subsets 2/2, data/align 3/3, data/preprocess 1/2, data/pipeline 2/2, data/folder 1/1,
data/table 2/2, data/images 1/1, data/registry 1/1, data/classes 1/1, data/tfrecords 1/3, evaluation 2/2,
calibration 1/1, plots 0/2, analysis 0/2, profiling 1/1, torch_import 1/2. Survivors, none equivalent, and the
test (header "round 6 blind mutants (issue 34)") that now kills each:

- r6-affectnet-file-lists-folder-name: no test put the CSVs in Manually_Annotated_file_lists/ (no test named the
  folder at all); test_data_readers.py::test_affectnet_annotation_files_inside_the_file_lists_folder_are_found;
- r6-preprocess-uint8-truncates: to_uint8 was only compared with itself (served vs single image);
  test_data_preprocess.py::test_to_uint8_rounds_to_the_nearest_level_and_clips (values rounded by hand);
- r6-tfrecords-shard-size-not-checked-on-resume: the resume test deleted a shard, never cut one short;
  test_tfrecords.py::test_a_rerun_rewrites_a_shard_whose_size_differs_from_its_record;
- r6-tfrecords-crop-right-bottom-swapped: the only box lay inside its image; test_tfrecords.py::
  test_a_box_past_the_right_and_bottom_edges_of_a_wide_image_is_clipped_to_them (32 x 24 image, crop by hand);
- r6-plots-confusion-column-normalised: no test drew a confusion matrix; test_plots.py::
  test_the_right_panel_of_the_confusion_matrix_divides_each_row_by_its_true_count ([[3, 1], [2, 6]] by hand);
- r6-plots-history-drops-partly-empty-columns: the history fixture's empty columns were empty in every row;
  test_plots.py::test_a_column_empty_in_some_epochs_only_is_kept;
- r6-analysis-perplexity-not-capped: every test passed a perplexity below its image count;
  test_analyze.py::test_tsne_perplexity_is_capped_below_a_third_of_the_images (scikit-learn's TSNE recorded);
- r6-analysis-class-counts-short: the analysed sets held every class; test_analyze.py::
  test_class_counts_list_every_class_even_the_last_ones_absent (a probabilities-only stand-in model, no t-SNE);
- r6-torch-import-unexpected-keys-accepted: the refusal test's state dict also had a missing key and a wrong
  shape, which refuse it anyway; test_torch_import.py::test_a_state_dict_with_only_an_extra_key_is_refused.

No bug in dsan_tf/. Rerun of the nine (``--only <the nine> --no-baseline --jobs 1 --nice 19``): 9/9 killed
(4.2 min), each by its new test: 34/34.
"""

FERPLUS = ("tests/test_data_ferplus.py", "tests/test_reader_refusals.py")
READERS = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
SUBSETS = ("tests/test_data_subsets.py",)
ALIGN = ("tests/test_align.py",)
PREPROCESS = ("tests/test_data_preprocess.py", "tests/test_pixels.py")
PIPELINE = ("tests/test_data_pipeline.py", "tests/test_data_loss_cases.py")
TFRECORDS = ("tests/test_tfrecords.py",)

FRESH_ROUND6A = [
    # ------------------------------------------------------------------ data/ferplus (3)
    dict(name="r6-ferplus-contempt-majority-is-fear", file="dsan_tf/data/ferplus.py",
         old="targets = np.eye(8, dtype=np.float32)[np.minimum(winner, 7)]",
         new="targets = np.eye(8, dtype=np.float32)[np.minimum(winner, 6)]",
         tests=FERPLUS,
         why="off by one in the clamp: a face whose majority is contempt (column 7) gets a one-hot "
             "target for fear (6); contempt is never a training label under 'majority'."),
    dict(name="r6-ferplus-eleven-field-rows-refused", file="dsan_tf/data/ferplus.py",
         old="elif len(row) == 1 + _NUM_VOTES:",
         new="elif len(row) == _NUM_VOTES:",
         tests=FERPLUS,
         why="the older label.csv form without the face box (name + 10 counts) is refused as a wrong "
             "field count instead of read with box None."),
    dict(name="r6-ferplus-folders-need-all-three", file="dsan_tf/data/ferplus.py",
         old="if any((root / f).is_dir() for f in FOLDERS.values()):",
         new="if all((root / f).is_dir() for f in FOLDERS.values()):",
         tests=FERPLUS,
         why="a FERPlus folder with FER2013Train and FER2013Valid but no FER2013Test (the shared data) "
             "is not recognised as the folder layout: it is looked for as the raw CSV pair and refused."),
    # ------------------------------------------------------------------ data/rafdb (1)
    dict(name="r6-rafdb-aligned-names-inverted", file="dsan_tf/data/rafdb.py",
         old="files = [str(image_dir / (aligned_name(n) if aligned else n)) for n in names]",
         new="files = [str(image_dir / (n if aligned else aligned_name(n))) for n in names]",
         tests=READERS,
         why="inverted condition: the aligned folder is searched for the original names and the original "
             "folder for *_aligned names; every image is missing."),
    # ------------------------------------------------------------------ data/affectnet (2)
    dict(name="r6-affectnet-file-lists-folder-name", file="dsan_tf/data/affectnet.py",
         old='root / "Manually_Annotated_file_lists" / file_name',
         new='root / "Manually_Annotated_Images" / file_name',
         tests=READERS,
         why="wrong folder name: training.csv/validation.csv inside Manually_Annotated_file_lists/ (the "
             "release's layout) are not found and the split is silently reported as absent."),
    dict(name="r6-affectnet-image-dir-ignored", file="dsan_tf/data/affectnet.py",
         old="images = Path(image_dir).expanduser().resolve() if image_dir else root / IMAGE_DIR",
         new="images = root / IMAGE_DIR",
         tests=READERS,
         why="the image_dir= option (images stored elsewhere) is dropped: images are always looked for "
             "under <data_dir>/Manually_Annotated_Images."),
    # ------------------------------------------------------------------ data/subsets (2)
    dict(name="r6-subsets-hex-stem-case-kept", file="dsan_tf/data/subsets.py",
         old="        return stem.lower()\n",
         new="        return stem\n",
         tests=SUBSETS,
         why="AffectNet hex stems are not lower-cased: a list naming an image in upper-case hex "
             "matches no table row."),
    dict(name="r6-subsets-two-hex-parts-first-taken", file="dsan_tf/data/subsets.py",
         old="return stems[0] if len(stems) == 1 else None",
         new="return stems[0] if stems else None",
         tests=SUBSETS,
         why="a path holding two 56-hex-digit parts is accepted (the first taken) instead of refused as "
             "ambiguous: the subset silently names whichever image comes first."),
    # ------------------------------------------------------------------ data/align (3)
    dict(name="r6-align-source-variance-not-averaged", file="dsan_tf/data/align.py",
         old="src_var = (src_c ** 2).sum() / len(src)",
         new="src_var = (src_c ** 2).sum()",
         tests=ALIGN,
         why="Umeyama's scale divides by the summed instead of the mean source variance: every warp is "
             "shrunk by the number of landmarks (5x), the face a small blob in the crop."),
    dict(name="r6-align-transform-points-not-transposed", file="dsan_tf/data/align.py",
         old="return points @ matrix[:, :2].T + matrix[:, 2]",
         new="return points @ matrix[:, :2] + matrix[:, 2]",
         tests=ALIGN,
         why="the 2x2 part is applied untransposed: points are rotated the other way, so aligned "
             "landmarks do not land on the template once there is any roll."),
    dict(name="r6-align-all-faces-numbered-from-one", file="dsan_tf/data/align.py",
         old='return [base / f"{stem}_{i}.png" for i in range(count)]',
         new='return [base / f"{stem}_{i + 1}.png" for i in range(count)]',
         tests=ALIGN,
         why="--all-faces crops are named <stem>_1.png, <stem>_2.png ... instead of the documented "
             "<stem>_0.png first."),
    # ------------------------------------------------------------------ data/preprocess (2)
    dict(name="r6-preprocess-uint8-truncates", file="dsan_tf/data/preprocess.py",
         old="return tf.cast(tf.clip_by_value(tf.round(image), 0.0, 255.0), tf.uint8)",
         new="return tf.cast(tf.clip_by_value(image, 0.0, 255.0), tf.uint8)",
         tests=PREPROCESS,
         why="to_uint8 truncates instead of rounding: every resized pixel is up to one level darker "
             "(254.9 -> 254) and the cache differs from what serving computes elsewhere."),
    dict(name="r6-preprocess-crop-axes-swapped", file="dsan_tf/data/preprocess.py",
         old="return image[y0:y1, x0:x1, :]",
         new="return image[x0:x1, y0:y1, :]",
         tests=PREPROCESS,
         why="the face box is cut with x and y exchanged: wrong region for any box off the diagonal "
             "and a transposed size for a non-square one."),
    # ------------------------------------------------------------------ data/pipeline (2)
    dict(name="r6-pipeline-shift-y-reuses-x-draw", file="dsan_tf/data/pipeline.py",
         old="ty = tf.floor(u[:, 1] * (2 * pad + 1)) - pad",
         new="ty = tf.floor(u[:, 0] * (2 * pad + 1)) - pad",
         tests=PIPELINE,
         why="the vertical shift uses the horizontal shift's random number: the random crop only ever "
             "moves along the diagonal (tx == ty)."),
    dict(name="r6-pipeline-every-input-pipeline-same-rows", file="dsan_tf/data/pipeline.py",
         old="table = table.iloc[input_context.input_pipeline_id::input_context.num_input_pipelines]",
         new="table = table.iloc[::input_context.num_input_pipelines]",
         tests=PIPELINE + ("tests/test_distribute.py",),
         why="every input pipeline takes rows 0, n, 2n ...: the workers train on the same subset and the "
             "other rows are never seen."),
    # ------------------------------------------------------------------ data/folder (1)
    dict(name="r6-folder-val-is-own-split", file="dsan_tf/data/folder.py",
         old='SPLIT_FOLDERS = {"train": "train", "valid": "valid", "val": "valid",',
         new='SPLIT_FOLDERS = {"train": "train", "valid": "valid", "val": "val",',
         tests=READERS,
         why="a val/ folder becomes a split named 'val' instead of 'valid': training finds no validation "
             "split."),
    # ------------------------------------------------------------------ data/table (2)
    dict(name="r6-table-header-mode-decodes-decode-mode-not", file="dsan_tf/data/table.py",
         old='    if mode == "decode":\n        from PIL import Image',
         new='    if mode == "header":\n        from PIL import Image',
         tests=READERS + ("tests/test_bad_input_files.py",),
         why="the full decode runs in the default 'header' mode and not in 'decode': a truncated file "
             "with a good signature passes check_images='decode'."),
    dict(name="r6-table-summary-count-whole-table", file="dsan_tf/data/table.py",
         old='return {s: {"count": int((self.table["split"] == s).sum()),',
         new='return {s: {"count": int(len(self.table)),',
         tests=READERS + ("tests/test_data_commands.py",),
         why="summary() gives every split the row count of the whole table."),
    # ------------------------------------------------------------------ data/images (1)
    dict(name="r6-images-symlinked-folders-not-followed", file="dsan_tf/data/images.py",
         old="for folder, dirs, files in os.walk(root, onerror=failed, followlinks=True):",
         new="for folder, dirs, files in os.walk(root, onerror=failed, followlinks=False):",
         tests=("tests/test_images.py",),
         why="images inside a symlinked sub-folder are silently left out of every scan."),
    # ------------------------------------------------------------------ data/registry (1)
    dict(name="r6-registry-affectnet8-has-seven", file="dsan_tf/data/registry.py",
         old='"affectnet8": partial(read_affectnet, num_classes=8)',
         new='"affectnet8": partial(read_affectnet, num_classes=7)',
         tests=READERS + ("tests/test_data_commands.py",),
         why="the name affectnet8 reads AffectNet-7: contempt is dropped without a word."),
    # ------------------------------------------------------------------ data/classes (1)
    dict(name="r6-classes-affectnet-sad-surprise-swapped", file="dsan_tf/data/classes.py",
         old='"neutral", "happiness", "sadness", "surprise", "fear", "disgust", "anger", "contempt",',
         new='"neutral", "happiness", "surprise", "sadness", "fear", "disgust", "anger", "contempt",',
         tests=READERS + ("tests/test_vocabulary.py",),
         why="AffectNet codes 2 and 3 are named in FERPlus' order: every sad face is called surprised "
             "and the reverse."),
    # ------------------------------------------------------------------ data/tfrecords (3)
    dict(name="r6-tfrecords-shard-size-not-checked-on-resume", file="dsan_tf/data/tfrecords.py",
         old='return info if path.stat().st_size == info["bytes"] else None',
         new="return info",
         tests=TFRECORDS,
         why="a resumed write trusts a shard whose size differs from its record (truncated, replaced): "
             "the split is published with a bad shard."),
    dict(name="r6-tfrecords-crop-right-bottom-swapped", file="dsan_tf/data/tfrecords.py",
         old="x1, y1 = min(max(x + w, 0), img.width), min(max(y + h, 0), img.height)",
         new="x1, y1 = min(max(x + w, 0), img.height), min(max(y + h, 0), img.width)",
         tests=TFRECORDS,
         why="the box's right edge is clipped to the image height and the bottom to the width: a box "
             "reaching past the edge of a non-square image is cut wrong."),
    dict(name="r6-tfrecords-shrink-by-shorter-side", file="dsan_tf/data/tfrecords.py",
         old="scale = image_size / max(img.size)",
         new="scale = image_size / min(img.size)",
         tests=TFRECORDS,
         why="image_size= shrinks by the shorter side: a non-square image's longer side stays above "
             "image_size."),
    # ------------------------------------------------------------------ evaluation (2)
    dict(name="r6-evaluation-confusion-transposed", file="dsan_tf/evaluation.py",
         old="matrix = confusion_matrix(labels, predicted, labels=list(range(k)))",
         new="matrix = confusion_matrix(predicted, labels, labels=list(range(k)))",
         tests=("tests/test_evaluation.py",),
         why="arguments swapped: rows are predictions, so the 'per-class accuracy' is per-class "
             "precision and the mean class accuracy is wrong."),
    dict(name="r6-evaluation-streams-swapped", file="dsan_tf/evaluation.py",
         old='STREAM_OUTPUTS = {"fused": "probabilities", "gfe": "gfe_logits", "mff": "mff_logits"}',
         new='STREAM_OUTPUTS = {"fused": "probabilities", "gfe": "mff_logits", "mff": "gfe_logits"}',
         tests=("tests/test_evaluation.py",),
         why="the GFE-AN and MFF-AN stream accuracies of metrics.json are exchanged."),
    # ------------------------------------------------------------------ calibration (1)
    dict(name="r6-calibration-adjust-normalises-over-faces", file="dsan_tf/calibration.py",
         old="total = scaled.sum(axis=-1, keepdims=True)",
         new="total = scaled.sum(axis=0, keepdims=True)",
         tests=("tests/test_calibration.py",),
         why="the offline correction renormalises each class over the faces instead of each face over "
             "the classes: rows do not sum to 1 and the choice of tau is made on wrong numbers."),
    # ------------------------------------------------------------------ plots (2)
    dict(name="r6-plots-confusion-column-normalised", file="dsan_tf/plots.py",
         old="rows = matrix.sum(axis=1, keepdims=True)",
         new="rows = matrix.sum(axis=0, keepdims=True)",
         tests=("tests/test_plots.py",),
         why="the 'row-normalised' panel is normalised by columns (precision, not recall)."),
    dict(name="r6-plots-history-drops-partly-empty-columns", file="dsan_tf/plots.py",
         old='return log.dropna(axis="columns", how="all").reset_index(drop=True)',
         new='return log.dropna(axis="columns", how="any").reset_index(drop=True)',
         tests=("tests/test_plots.py",),
         why="a column with one empty cell (a resumed epoch without validation) is dropped whole: the "
             "validation curve disappears from the figure."),
    # ------------------------------------------------------------------ analysis (2)
    dict(name="r6-analysis-perplexity-not-capped", file="dsan_tf/analysis.py",
         old="perplexity = float(min(perplexity, max(2.0, (n - 1) / 3.0)))",
         new="perplexity = float(max(perplexity, max(2.0, (n - 1) / 3.0)))",
         tests=("tests/test_analyze.py",),
         why="min/max exchanged: the perplexity is never capped below N/3, so a small evaluation set "
             "(N <= 30) makes scikit-learn's t-SNE refuse."),
    dict(name="r6-analysis-class-counts-short", file="dsan_tf/analysis.py",
         old='"class_counts": np.bincount(labels, minlength=k).astype(int).tolist(),',
         new='"class_counts": np.bincount(labels).astype(int).tolist(),',
         tests=("tests/test_analyze.py",),
         why="without minlength, classes after the last present one are missing from class_counts "
             "(and from the per-class line of summary.txt)."),
    # ------------------------------------------------------------------ profiling (1)
    dict(name="r6-profiling-flops-equal-macs", file="dsan_tf/profiling.py",
         old='return {**count_parameters(model), "macs": macs, "flops": 2 * macs}',
         new='return {**count_parameters(model), "macs": macs, "flops": macs}',
         tests=("tests/test_profiling.py",),
         why="FLOPs reported equal to MACs (the very confusion the module docstring warns about)."),
    # ------------------------------------------------------------------ torch_import (2)
    dict(name="r6-torch-import-unexpected-keys-accepted", file="dsan_tf/torch_import.py",
         old="    if missing or unexpected or mismatched:\n",
         new="    if missing or mismatched:\n",
         tests=("tests/test_torch_import.py",),
         why="a state dict with extra keys (another architecture's, e.g. a ResNet-34's layer3.2.*) is "
             "assigned without complaint."),
    dict(name="r6-torch-import-mismatch-shape-in-wrong-layout", file="dsan_tf/torch_import.py",
         old="    return (o, i, kh, kw)\n",
         new="    return (i, o, kh, kw)\n",
         tests=("tests/test_torch_import.py",),
         why="the shape-mismatch message gives the model's kernel in a wrong 'torch layout' (in and out "
             "channels exchanged): the user compares against wrong numbers."),
]
