"""Round 7 blind mutants, part b (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped;
each ``old`` is on a line no earlier mutant's ``old`` touched.

First pass (2026-12-07, ``nice -n 19 python tests/mutation/run.py --only <these> --no-baseline --jobs 1
--nice 19``, 25.5 min on the shared two cores): **22/32 killed (69 %)**. Per module: api 2/2, benchmark 1/2,
calibration 2/2, data/affectnet 0/1, data/align 2/2, data/ferplus 2/2, data/preprocess 1/2, data/rafdb 0/1,
data/subsets 0/2, export 3/3, face_record 1/1, inference 1/2, live_detection 1/2, model 2/2, pixels 1/1,
realtime 1/2, tflite_predictor 0/1, tracking 2/2. Survivors, none equivalent (each a gap):

- r7-tflite-predictor-input-size-refusal-dropped: the only TFLitePredictor refusal tested was the class
  count; no flatbuffer of another input size was ever offered;
- r7-inference-video-read-count-one-short: the ``read`` count was only read after the generator had run to
  its end (or to max_frames), where index + 1 and the next line's index agree;
- r7-rafdb-aligned-name-at-first-dot: every name in the tests had one dot;
- r7-affectnet-file-name-not-stripped: no CSV row had spaces around its path;
- r7-subsets-and-zero-more: the duplicate-note test had one duplicated name, never exactly three;
- r7-subsets-last-spelling-kept: the duplicates tested were spelt alike on both lines;
- r7-preprocess-crop-top-clipped-to-width: the crop_to_box examples had boxes whose top was inside both
  the height and the width;
- r7-bench-tf-profile-picoseconds-as-seconds: the profile tests checked parts and sums, never a magnitude;
- r7-realtime-agreement-default-iou-loose: the default min_iou was only met with IoU 0 or 1;
- r7-live-min-face-below-aligner-floor: the followed face tested gave half a side (30 px) above
  min_face_size (20).

No bug in dsan_tf/. Each got a test at the end of a file its selection runs (header "round 7 blind mutants
(issue 34)"): test_export_tflite.py (a stand-in interpreter of 16 px input refused for an 8 px model),
test_predict.py (a stopped iteration leaves read at index + 1), test_data_readers.py (train_00001.v2.jpg ->
train_00001.v2_aligned.jpg; " 0/a.jpg " -> 0/a.jpg), test_data_subsets.py (three duplicates and no "more",
four and "1 more"; test_0003_aligned then 0/test_0003.jpg keeps the first), test_data_preprocess.py (a
20x10 image, box top 15), test_accounting.py (a stand-in xplane trace: 2.5e9 ps -> 2.5 ms),
test_realtime.py (IoU 0.4 unmatched by default; a 24x30 followed face keeps the search at 20 px). Rerun of
the ten: 10/10 killed (2.8 min), each by its new test: 32/32.
"""

FLIP = ("tests/test_model.py", "tests/test_calibration.py")
EXPORT = ("tests/test_export.py", "tests/test_export_tflite.py")
TFLITE = ("tests/test_export_tflite.py",)
API = ("tests/test_api.py",)
INFERENCE = ("tests/test_predict.py", "tests/test_api.py")
VOCABULARY = ("tests/test_vocabulary.py",)
PIXELS = ("tests/test_pixels.py",)
FERPLUS = ("tests/test_data_ferplus.py", "tests/test_reader_refusals.py")
READERS = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
SUBSETS = ("tests/test_data_subsets.py",)
ALIGN = ("tests/test_align.py", "tests/test_geometry_properties.py")
PREPROCESS = ("tests/test_data_preprocess.py", "tests/test_geometry_properties.py")
BENCH = ("tests/test_accounting.py", "tests/test_bench_against_torch.py")
REALTIME = ("tests/test_realtime.py", "tests/test_accounting.py")

FRESH_ROUND7B = [
    # ------------------------------------------------------------------ flip averaging, prior correction (4)
    dict(name="r7-model-flip-average-while-training", file="dsan_tf/model.py",
         old='if training or not getattr(self, "settings", {}).get("flip_average"):',
         new='if not getattr(self, "settings", {}).get("flip_average"):',
         tests=FLIP,
         why="a flip-averaging model averages its mirror during training too: every training step runs the "
             "network twice and the losses see averaged logits (the paper trains on single images)."),
    dict(name="r7-model-flip-other-outputs-from-mirror", file="dsan_tf/model.py",
         old="averaged = dict(outputs)",
         new="averaged = dict(mirrored)",
         tests=FLIP,
         why="the outputs that are not averaged (features, attention maps) come from the MIRRORED face: "
             "Grad-CAM and the analysis of a flip-averaging model show the face's mirror image."),
    dict(name="r7-calibration-old-correction-kept", file="dsan_tf/calibration.py",
         old='    config.pop("class_scale", None)\n',
         new="",
         tests=FLIP,
         why="with_prior_correction(model, None) no longer removes a correction: a corrected model cannot "
             "be turned back into the model as trained."),
    dict(name="r7-calibration-priors-over-largest-count", file="dsan_tf/calibration.py",
         old="return counts / counts.sum()",
         new="return counts / counts.max()",
         tests=FLIP,
         why="class_priors divides by the largest class count: the 'frequencies' do not sum to 1 (the "
             "largest class gets 1.0), and whatever reads them as probabilities is wrong."),
    # ------------------------------------------------------------------ export and its grey conversion (3)
    dict(name="r7-export-tflite-grey-inverted", file="dsan_tf/export.py",
         old="        if grey:  # greyed in the graph, as predict_pixels\n",
         new="        if not grey:  # greyed in the graph, as predict_pixels\n",
         tests=EXPORT,
         why="the TFLite graph greys the faces of a COLOUR model and passes colour faces to a grey-trained "
             "one (the shipped FERPlus model): phones get answers for pixels the model never saw."),
    dict(name="r7-export-predict-pixels-not-greyed", file="dsan_tf/export.py",
         old="        if grey:\n            pixels = grey_rgb(pixels)\n        return outputs_from_model_input(",
         new="        return outputs_from_model_input(",
         tests=EXPORT,
         why="the SavedModel's predict_pixels gives a grey-trained model colour faces (serving_default "
             "greys them): the two signatures of one export disagree on a colour face."),
    dict(name="r7-export-warmup-pixels-request-under-bytes-signature", file="dsan_tf/export.py",
         old="request.model_spec.signature_name = SIGNATURE_PIXELS",
         new="request.model_spec.signature_name = SIGNATURE_BYTES",
         tests=EXPORT,
         why="the warmup file's pixel request names serving_default, whose input is image_bytes: TF Serving "
             "fails that warmup record when it loads the model."),
    # ------------------------------------------------------------------ TFLite predictor (1)
    dict(name="r7-tflite-predictor-input-size-refusal-dropped", file="dsan_tf/tflite_predictor.py",
         old="self.image_size and any(side not in (-1, self.image_size) for side in shape[1:3])",
         new="self.image_size and any(side == 0 for side in shape[1:3])",
         tests=TFLITE,
         why="a .tflite file of another input size is accepted for a model: faces are resized to the model's "
             "size and fed to a graph of another size (an interpreter error, or another model's answers)."),
    # ------------------------------------------------------------------ Python API, inference, face records (5)
    dict(name="r7-api-rgba-keeps-alpha-drops-red", file="dsan_tf/api.py",
         old="return np.ascontiguousarray(image[..., :3])",
         new="return np.ascontiguousarray(image[..., 1:])",
         tests=API,
         why="an RGBA array's red channel is dropped and its alpha read as blue: every RGBA photo is "
             "classified from the wrong colours (grey faces from the wrong luminance)."),
    dict(name="r7-api-min-face-size-zero-accepted", file="dsan_tf/api.py",
         old='("min_face_size", min_face_size, 1)',
         new='("min_face_size", min_face_size, 0)',
         tests=API,
         why="min_face_size=0 is accepted by the API while dsan predict refuses it (the two ranges differ)."),
    dict(name="r7-inference-single-last-face-not-classified", file="dsan_tf/inference.py",
         old="for start in range(0, len(indices), batch_size):",
         new="for start in range(0, len(indices) - 1, batch_size):",
         tests=INFERENCE,
         why="off by one: a lone face of its size (or a batch's last single face) is never run; its "
             "probabilities stay all zeros and its label is the first class."),
    dict(name="r7-inference-video-read-count-one-short", file="dsan_tf/inference.py",
         old='status["read"] = index + 1',
         new='status["read"] = index',
         tests=INFERENCE,
         why="the frames-read count of a video lags one frame behind after each decoded frame: a one-frame "
             "video reports 0 frames read."),
    dict(name="r7-face-record-csv-missing-box-as-zeros", file="dsan_tf/face_record.py",
         old="box = record.get(\"box\") or [None] * 4",
         new="box = record.get(\"box\") or [0] * 4",
         tests=VOCABULARY,
         why="a row without a box (no face, a crop sent as it is) is written to CSV as the box 0,0,0,0 "
             "instead of empty cells: a reader takes it for a (degenerate) face at the corner."),
    # ------------------------------------------------------------------ pixel checks (1)
    dict(name="r7-pixels-graph-refuses-255", file="dsan_tf/pixels.py",
         old="tf.debugging.assert_less_equal(pixels,",
         new="tf.debugging.assert_less(pixels,",
         tests=PIXELS,
         why="the graph check refuses a pixel of exactly 255 (white): TF Serving answers HTTP 400 for any "
             "face with a white pixel, which the NumPy check accepts."),
    # ------------------------------------------------------------------ label rules (6)
    dict(name="r7-ferplus-majority-over-emotion-votes-only", file="dsan_tf/data/ferplus.py",
         old="total = v.sum(axis=1)",
         new="total = v[:, :8].sum(axis=1)",
         tests=FERPLUS,
         why="the majority is taken over the eight emotion votes only: an image with 4 happy, 3 unknown, "
             "2 NF votes (no majority of the ten) is kept as happy."),
    dict(name="r7-ferplus-duplicate-first-line-not-named", file="dsan_tf/data/ferplus.py",
         old='dup = named[named["name"].duplicated(keep=False)]',
         new='dup = named[named["name"].duplicated(keep="first")]',
         tests=FERPLUS,
         why="a name listed twice is reported with its second line only (the first is left out of 'appears "
             "on lines'), and a conflict between the first and second votes is never seen."),
    dict(name="r7-rafdb-aligned-name-at-first-dot", file="dsan_tf/data/rafdb.py",
         old='stem, dot, ext = name.rpartition(".")',
         new='stem, dot, ext = name.partition(".")',
         tests=READERS,
         why="a name with two dots (train_1.v2.jpg) becomes train_1_aligned.v2.jpg, not "
             "train_1.v2_aligned.jpg: the aligned image is reported missing."),
    dict(name="r7-affectnet-file-name-not-stripped", file="dsan_tf/data/affectnet.py",
         old="rows.append((row[0].strip(), box, expression, reader.line_num))",
         new="rows.append((row[0], box, expression, reader.line_num))",
         tests=READERS,
         why="a file path with a space after it in the CSV (' 1/a.jpg') is looked up as written: the image "
             "is reported missing."),
    dict(name="r7-subsets-and-zero-more", file="dsan_tf/data/subsets.py",
         old="if len(items) > shown else \"\"",
         new="if len(items) >= shown else \"\"",
         tests=SUBSETS,
         why="off by one: a list with exactly three duplicated names is reported as '...; and 0 more'."),
    dict(name="r7-subsets-last-spelling-kept", file="dsan_tf/data/subsets.py",
         old="first_name.setdefault(key, name)",
         new="first_name[key] = name",
         tests=SUBSETS,
         why="of two spellings of one image (test_0003 and test_0003_aligned) the LAST is kept as its name: "
             "the names differ from the docstring's 'as first listed'."),
    # ------------------------------------------------------------------ alignment geometry (4)
    dict(name="r7-align-reflection-scale-unsigned", file="dsan_tf/data/align.py",
         old="scale = float((s * d).sum() / src_var)",
         new="scale = float(s.sum() / src_var)",
         tests=ALIGN,
         why="Umeyama's scale ignores the reflection's sign flip: landmarks in mirrored order (a bad "
             "detection) get a too large scale and the crop is zoomed wrongly."),
    dict(name="r7-align-shrink-by-short-side", file="dsan_tf/data/align.py",
         old="factor = max_side / max(height, width)",
         new="factor = max_side / min(height, width)",
         tests=ALIGN,
         why="a large photo is shrunk so its SHORT side is max_side: a 4000x1000 panorama is detected at "
             "6400x1600, the longer side far over the limit (slow, memory)."),
    dict(name="r7-preprocess-crop-top-clipped-to-width", file="dsan_tf/data/preprocess.py",
         old="y0 = tf.clip_by_value(box[1], 0, height)",
         new="y0 = tf.clip_by_value(box[1], 0, width)",
         tests=PREPROCESS,
         why="a box's top is clipped to the image's width: on a wide image a box below the bottom gets an "
             "empty or wrong crop instead of the whole image."),
    dict(name="r7-preprocess-float-image-floored", file="dsan_tf/data/preprocess.py",
         old="values = np.rint(values * 255.0)",
         new="values = np.floor(values * 255.0)",
         tests=PREPROCESS,
         why="a 0..1 float TIFF is floored, not rounded: 0.999 becomes 254, and it differs by one grey "
             "level from what the same values saved as 8-bit give."),
    # ------------------------------------------------------------------ benchmark accounting (2)
    dict(name="r7-bench-ratio-baseline-over-dsan", file="dsan_tf/benchmark.py",
         old='result[f"{kind}_ratio_dsan_over_baseline"] = d[f"{kind}_images_per_s"] / b[f"{kind}_images_per_s"]',
         new='result[f"{kind}_ratio_dsan_over_baseline"] = b[f"{kind}_images_per_s"] / d[f"{kind}_images_per_s"]',
         tests=BENCH,
         why="the headline ratio is inverted: a DSAN 10 % slower than the baseline reports 1.11 and "
             "passes the >= 0.97 target."),
    dict(name="r7-bench-tf-profile-picoseconds-as-seconds", file="dsan_tf/benchmark.py",
         old="+= event.duration_ps / 1e9",
         new="+= event.duration_ps / 1e12",
         tests=BENCH,
         why="the TensorFlow profile's picoseconds are converted to seconds, not milliseconds: every "
             "'ms per step' of the tf profile is 1000 times too small next to torch's."),
    # ------------------------------------------------------------------ real-time accounting (6)
    dict(name="r7-realtime-ms-per-frame-over-frames-read", file="dsan_tf/realtime.py",
         old="n = max(self.frames, 1)",
         new="n = max(self.read, 1)",
         tests=REALTIME,
         why="ms per frame divides by the frames READ (including those skipped by stride or dropped): with "
             "--stride 3 each stage looks three times faster than it is."),
    dict(name="r7-realtime-agreement-default-iou-loose", file="dsan_tf/realtime.py",
         old="min_iou: float = 0.5) -> dict:",
         new="min_iou: float = 0.3) -> dict:",
         tests=REALTIME,
         why="the agreement check matches faces that overlap by only 0.3 IoU: a live box far off its face "
             "still counts as agreeing."),
    dict(name="r7-live-min-face-below-aligner-floor", file="dsan_tf/live_detection.py",
         old="return max(wanted, self.aligner.min_face_size)",
         new="return wanted",
         tests=REALTIME,
         why="a followed small face halves the search's minimum below --min-face-size: the search runs at a "
             "larger scale than needed (slower) and looks for faces the filter then drops."),
    dict(name="r7-live-proposal-x-y-swapped", file="dsan_tf/live_detection.py",
         old="rows.append([0, cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2, 1.0])",
         new="rows.append([0, cy - side / 2, cx - side / 2, cx + side / 2, cy + side / 2, 1.0])",
         tests=REALTIME,
         why="the refit's proposal square has its left and top swapped: a face off the diagonal is refitted "
             "in the wrong place and lost."),
    dict(name="r7-tracking-live-includes-missed-once", file="dsan_tf/tracking.py",
         old="return [t for t in self.tracks if t.missed == 0]",
         new="return [t for t in self.tracks if t.missed <= 1]",
         tests=REALTIME,
         why="a track not seen at the last update is still reported live: a face that left the frame keeps "
             "its label drawn one frame longer."),
    dict(name="r7-tracking-ids-from-zero", file="dsan_tf/tracking.py",
         old="self._next_id = 1",
         new="self._next_id = 0",
         tests=REALTIME,
         why="track ids start at 0: the first face's id is falsy, and code testing 'if track_id' treats it "
             "as no track."),
]
