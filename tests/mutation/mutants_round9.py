"""Round 9 blind mutants (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake of a contributor. ``tests`` are the module's own test files as picked from their names
alone (``ls tests/``). No (file, old) repeats an earlier mutant's; the few lines an earlier mutant touched
get another kind of mistake (a TFLite mutant first written on round 8's non-square line was replaced
before the first pass by one on the ``source`` line). Areas (round 8's weakest): prediction and the Python
API (api, inference, cli/predict), export and serving (export, tflite_predictor, cli/export_savedmodel,
cli/export_tflite, cli/client), the readers' label rules (data/ferplus, affectnet, folder, subsets),
alignment (data/align) and the realtime accounting (realtime, cli/bench_realtime). Kinds: a parameter
accepted but not passed on (largest_only x3, align_size, num_batch_threads, source, --model-name), a
non-square input taken as square (zero-width pixels, a 5 px wide image, a --size height), units and
swapped report fields, special values (0, empty, spaces, upper case), boundaries, dropped refusals.

First pass (2026-12-07, ``python tests/mutation/run.py --only <these> --no-baseline --jobs 1 --nice 19
--json r9-first.json --results r9-first.jsonl``, continued after 4 mutants with ``--jobs 2``
to meet the deadline; 51 min of wall time on the shared two cores, 89 min of mutant runs):
**20/40 killed (50 %)**. Per module: api 2/5, inference 4/5, cli/predict 1/4, export 3/4,
tflite_predictor 0/1, cli/export_tflite 1/1, cli/export_savedmodel 0/3, cli/client 2/4, data/affectnet 0/1,
data/ferplus 1/2, data/folder 1/1, data/subsets 0/1, data/align 2/4, realtime 3/3, cli/bench_realtime 0/1.
Survivors, none equivalent (each a gap):

- r9-api-largest-only-not-passed: no test looked at largest_only of the recognizer (the stand-in detector
  finds one face, so the rows cannot tell);
- r9-api-face-crops-at-model-size: the recognizer's face_crops ran only where its align size is the model's;
- r9-api-settings-zero-size-accepted: the "records no image_size" refusal was tested with the key absent,
  never with a recorded 0;
- r9-inference-zero-width-pixels: the empty-side refusal of predict_pixels was tested with height 0 only;
- r9-predict-largest-only-not-passed: dsan predict never ran with --largest-only;
- r9-predict-live-align-size-dropped: --align-size was tested on the photo path only;
- r9-predict-live-no-frame-exit-zero: the live video path's no-frame status is covered in test_realtime.py,
  outside the module's selection (test_predict.py had the camera's only);
- r9-export-config-first-time-forgets-versions: each first models.config was written with the new version the
  only one on disk;
- r9-tflite-source-not-passed: no test gave TFLitePredictor a ``source``;
- r9-export-savedmodel-upper-case-suffix: no --warmup-images name in capitals;
- r9-export-savedmodel-base-path-folder-name: every export named the model after its output folder;
- r9-export-savedmodel-threads-not-passed: every export used the default 4 batch threads;
- r9-client-photo-largest-only-dropped: whole photos never ran with --largest-only;
- r9-client-labels-not-stripped: the labels files had no spaces around a name;
- r9-affectnet-header-with-spaces: header lines were written exactly;
- r9-ferplus-empty-pixels: every pixel refusal had a non-empty field;
- r9-subsets-line-not-stripped: no list line had spaces around it;
- r9-align-thin-image-to-pnet: the below-the-window skip was never reached by an image thin along one side;
- r9-align-largest-only-not-overridable: the per-call override was tested from a largest_only=False aligner
  only;
- r9-bench-realtime-height-unchecked: --size was only ever valid (160x120).

No bug in dsan_tf/. Each got a test at the end of a file its selection runs (header "round 9 blind mutants
(issue 34)"): test_api.py (largest_only reaches the aligner; a 32 px
recognizer's face_crops of a 48 px model are 32 px; "image_size": 0 refused), test_predict.py (a [1, 4, 0, 3]
batch refused; probabilities to six places, a redundant check as r9-inference-probability-digits-four died
anyway; --largest-only reaches the FaceAligner; the live recognizer takes --align-size 24, else 112; a live
video that delivers no frame exits 1), test_export.py (a first config serves versions 1, 3 on disk and the new
5; --model-name faces gives /models/faces; --num-batch-threads 2 reaches batching_parameters.txt, through the
command with a stand-in model and export; FACE.JPG taken, notes.TXT refused), test_export_tflite.py (the
source given names the predictor and its refusal), test_client_replies.py (label lines stripped; --largest-only
reaches the photo aligner), test_data_readers.py (a padded AffectNet header skipped), test_data_ferplus.py
("0,,Training" refused naming line 3 and 0 values), test_data_subsets.py (padded list lines read),
test_align.py (100x5 and 5x100 images never reach the detector), test_geometry_properties.py (align(...,
largest_only=False) on a largest-only aligner gives all three faces), test_accounting.py (_size checks both
sides: 640x63, 640x4097, 63x480 refused; 640x64, 64x4096 taken).

Rerun of the survivors: ``python tests/mutation/run.py --only <survivors> --no-baseline --nice 19``
in four batches (some
``--jobs 2``, beside the first pass's end): 20/20 killed (7 in 23.1 min, 7 in 11.0 min, 5 in 4.2 min,
1 in 1.8 min), each by its new test: 40/40..
"""

API = ("tests/test_api.py",)
INFERENCE = ("tests/test_predict.py", "tests/test_api.py")
PREDICT = ("tests/test_predict.py",)
EXPORT = ("tests/test_export.py", "tests/test_export_client.py")
TFLITE = ("tests/test_export_tflite.py",)
CLIENT = ("tests/test_client_replies.py", "tests/test_export_client.py")
READERS = ("tests/test_data_readers.py", "tests/test_reader_refusals.py")
FERPLUS = ("tests/test_data_ferplus.py", "tests/test_reader_refusals.py")
SUBSETS = ("tests/test_data_subsets.py",)
ALIGN = ("tests/test_align.py", "tests/test_geometry_properties.py")
REALTIME = ("tests/test_realtime.py", "tests/test_accounting.py")

FRESH_ROUND9 = [
    # ------------------------------------------------------------------ Python API (5)
    dict(name="r9-api-largest-only-not-passed", file="dsan_tf/api.py",
         old="largest_only=largest_only, detector=detector,",
         new="largest_only=False, detector=detector,",
         tests=API,
         why="FaceExpressionRecognizer(largest_only=True) still answers for every face of a group photo"),
    dict(name="r9-api-face-crops-at-model-size", file="dsan_tf/api.py",
         old="return face_crops(image, self.image_size, self.grayscale, aligner=self.aligner)",
         new="return face_crops(image, self.predictor.image_size or 112, self.grayscale, aligner=self.aligner)",
         tests=API,
         why="a recognizer built with align_size=N refuses its own face_crops (the aligner crops N px)"),
    dict(name="r9-api-bool-taken-as-integer", file="dsan_tf/api.py",
         old="if isinstance(value, bool) or not isinstance(value, (int, np.integer)):",
         new="if not isinstance(value, (int, np.integer)):",
         tests=API,
         why="batch_size=True is taken as 1 (a flag passed in the wrong place is accepted silently)"),
    dict(name="r9-api-classify-grayscale-not-passed", file="dsan_tf/api.py",
         old="batch_size=self.batch_size, grayscale=self.grayscale)",
         new="batch_size=self.batch_size)",
         tests=API,
         why="grayscale=True on a colour model (or False on a grey one) is ignored when classifying"),
    dict(name="r9-api-settings-zero-size-accepted", file="dsan_tf/api.py",
         old='if not isinstance(config, dict) or not config.get("image_size"):',
         new='if not isinstance(config, dict) or "image_size" not in config:',
         tests=API,
         why="an export recording image_size 0 gives input_settings size 0 instead of the load error"),
    # ------------------------------------------------------------------ inference (5)
    dict(name="r9-inference-zero-width-pixels", file="dsan_tf/inference.py",
         old="0 in pixels.shape[1:3]",
         new="0 in pixels.shape[1:2]",
         tests=INFERENCE,
         why="predict_pixels of [N, H, 0, 3] pixels is not refused with the shape message"),
    dict(name="r9-inference-2d-crop-not-repeated", file="dsan_tf/inference.py",
         old="image = np.repeat(image[..., None], 3, axis=2)",
         new="image = image[..., None]",
         tests=INFERENCE,
         why="a grey H x W face crop is refused by Predictor.predict instead of taken as grey RGB"),
    dict(name="r9-inference-stride-zero-accepted", file="dsan_tf/inference.py",
         old="if stride < 1:",
         new="if stride < 0:",
         tests=INFERENCE,
         why="frame stride 0 fails with ZeroDivisionError inside the loop instead of the ValueError"),
    dict(name="r9-inference-csv-time-dropped", file="dsan_tf/inference.py",
         old='flat = {k: row.get(k) for k in ("frame", "time_s", "face",',
         new='flat = {k: row.get(k) for k in ("frame", "face",',
         tests=INFERENCE,
         why="the CSV's time_s column is always empty for video frames"),
    dict(name="r9-inference-probability-digits-four", file="dsan_tf/inference.py",
         old="p, predictor.class_names, digits=6)",
         new="p, predictor.class_names, digits=4)",
         tests=INFERENCE,
         why="dsan predict's probabilities are rounded to 4 digits, not the documented 6"),
    # ------------------------------------------------------------------ dsan predict (4)
    dict(name="r9-predict-largest-only-not-passed", file="dsan_tf/cli/predict.py",
         old="min_face_size=args.min_face_size, largest_only=args.largest_only)",
         new="min_face_size=args.min_face_size)",
         tests=PREDICT,
         why="dsan predict --largest-only on photos still writes a row per face"),
    dict(name="r9-predict-live-align-size-dropped", file="dsan_tf/cli/predict.py",
         old="align_size=args.align_size)",
         new="align_size=None)",
         tests=PREDICT,
         why="--align-size is ignored on the live path (camera, --annotate VIDEO, --chart)"),
    dict(name="r9-predict-live-no-frame-exit-zero", file="dsan_tf/cli/predict.py",
         old="return 1 if truncated or not report.frames else 0",
         new="return 1 if truncated else 0",
         tests=PREDICT,
         why="a live-path video of which no frame could be read exits 0"),
    dict(name="r9-predict-progress-total-max", file="dsan_tf/cli/predict.py",
         old="return min(wanted, max_frames) if max_frames else wanted",
         new="return max(wanted, max_frames) if max_frames else wanted",
         tests=PREDICT,
         why="the live path's progress bar expects --max-frames frames when the video has fewer"),
    # ------------------------------------------------------------------ export, serving config (4)
    dict(name="r9-export-newline-name-only-at-end", file="dsan_tf/export.py",
         old='if any("\\n" in n for n in names):',
         new='if any(n.endswith("\\n") for n in names):',
         tests=EXPORT,
         why="a class name with a newline inside splits labels.txt into two classes"),
    dict(name="r9-export-config-first-time-forgets-versions", file="dsan_tf/export.py",
         old="keep = set(on_disk or ())",
         new="keep = set()",
         tests=EXPORT,
         why="a models.config written for the first time serves only the new version, not those on disk"),
    dict(name="r9-export-batching-max-zero-accepted", file="dsan_tf/export.py",
         old="int(max_batch_size) < 1:",
         new="int(max_batch_size) < 0:",
         tests=EXPORT,
         why="max_batch_size 0 is written to batching_parameters.txt; TF Serving refuses it at start"),
    dict(name="r9-export-allowed-sizes-end-below-max", file="dsan_tf/export.py",
         old="allowed[-1] != int(max_batch_size))",
         new="allowed[-1] > int(max_batch_size))",
         tests=EXPORT,
         why="allowed_batch_sizes ending below max_batch_size is accepted; TF Serving refuses the file"),
    # ------------------------------------------------------------------ TFLite (2)
    dict(name="r9-tflite-source-not-passed", file="dsan_tf/tflite_predictor.py",
         old='self.source = source or f"{like.source} (TFLite)"',
         new='self.source = f"{like.source} (TFLite)"',
         tests=TFLITE,
         why="TFLitePredictor(source='model.tflite') names the Keras model in its refusals, not the file"),
    dict(name="r9-export-tflite-diff-mean", file="dsan_tf/cli/export_tflite.py",
         old="max_diff[name] = max(max_diff[name], float(np.abs(probs - ref).max()))",
         new="max_diff[name] = max(max_diff[name], float(np.abs(probs - ref).mean()))",
         tests=TFLITE,
         why="report.json's max_abs_probability_diff is a mean, hiding one image that disagrees"),
    # ------------------------------------------------------------------ dsan export savedmodel (3)
    dict(name="r9-export-savedmodel-upper-case-suffix", file="dsan_tf/cli/export_savedmodel.py",
         old="if image.suffix.lower() not in IMAGE_SUFFIXES:",
         new="if image.suffix not in IMAGE_SUFFIXES:",
         tests=EXPORT,
         why="--warmup-images FACE.JPG (a camera's upper-case name) is refused"),
    dict(name="r9-export-savedmodel-base-path-folder-name", file="dsan_tf/cli/export_savedmodel.py",
         old='f"/models/{args.model_name}"',
         new='f"/models/{args.output.resolve().name}"',
         tests=EXPORT,
         why="with --model-name the default base_path still names the output folder"),
    dict(name="r9-export-savedmodel-threads-not-passed", file="dsan_tf/cli/export_savedmodel.py",
         old="export.batching_parameters_text(num_batch_threads=args.num_batch_threads)",
         new="export.batching_parameters_text()",
         tests=EXPORT,
         why="--num-batch-threads is ignored: batching_parameters.txt always says 4"),
    # ------------------------------------------------------------------ dsan client (4)
    dict(name="r9-client-trailing-slash-kept", file="dsan_tf/cli/client.py",
         old="endpoint = f\"{url.rstrip('/')}/v1/models/{model}\"",
         new='endpoint = f"{url}/v1/models/{model}"',
         tests=CLIENT,
         why="--rest http://host:8501/ posts to //v1/models/..., which TF Serving answers 404"),
    dict(name="r9-client-stream-probabilities-swapped", file="dsan_tf/cli/client.py",
         old="extra[stream] = dict(zip(names, (float(p) for p in prediction[stream])))",
         new='extra[stream] = dict(zip(names, (float(p) for p in prediction["probabilities"])))',
         tests=CLIENT,
         why="--json's gfe_probabilities and mff_probabilities repeat the fused probabilities"),
    dict(name="r9-client-photo-largest-only-dropped", file="dsan_tf/cli/client.py",
         old="largest_only=args.largest_only)",
         new="largest_only=False)",
         tests=CLIENT,
         why="dsan client --largest-only sends every face of a photo"),
    dict(name="r9-client-labels-not-stripped", file="dsan_tf/cli/client.py",
         old="labels = [line.strip() for line in",
         new="labels = [line for line in",
         tests=CLIENT,
         why="a labels file with trailing spaces gives class names with spaces in --json"),
    # ------------------------------------------------------------------ readers (4)
    dict(name="r9-affectnet-header-with-spaces", file="dsan_tf/data/affectnet.py",
         old="if reader.line_num == 1 and row[0].strip() == COLUMNS[0]:",
         new="if reader.line_num == 1 and row[0] == COLUMNS[0]:",
         tests=READERS,
         why="a header line ' subDirectory_filePath, ...' is read as a data row and refused"),
    dict(name="r9-ferplus-blank-fields-row", file="dsan_tf/data/ferplus.py",
         old="if not row or all(not x.strip() for x in row):",
         new="if not row:",
         tests=FERPLUS,
         why="a line of commas and spaces in label.csv (a spreadsheet's empty row) stops the reader"),
    dict(name="r9-ferplus-empty-pixels", file="dsan_tf/data/ferplus.py",
         old="if values.size == 0 or side * side != values.size",
         new="if side * side != values.size",
         tests=FERPLUS,
         why="an empty pixels field in fer2013.csv fails with numpy's ValueError, not a DataError naming the line"),
    dict(name="r9-folder-upper-case-split", file="dsan_tf/data/folder.py",
         old="split_dirs = ({SPLIT_FOLDERS[d.name.lower()]: d",
         new="split_dirs = ({SPLIT_FOLDERS[d.name]: d",
         tests=READERS,
         why="a tree with Train/ and Test/ folders fails with KeyError"),
    dict(name="r9-subsets-line-not-stripped", file="dsan_tf/data/subsets.py",
         old="text = line.strip()",
         new='text = line.rstrip("\\n")',
         tests=SUBSETS,
         why="a list line with trailing spaces (or a CRLF file read as bytes) is refused"),
    # ------------------------------------------------------------------ alignment (4)
    dict(name="r9-align-thin-image-to-pnet", file="dsan_tf/data/align.py",
         old="if min(small.shape[:2]) < _PNET_WINDOW:",
         new="if small.shape[0] < _PNET_WINDOW:",
         tests=ALIGN,
         why="an image 100 px high and 5 px wide goes to MTCNN, whose PNet raises"),
    dict(name="r9-align-output-size-8-refused", file="dsan_tf/data/align.py",
         old="if output_size < 8:",
         new="if output_size <= 8:",
         tests=ALIGN,
         why="the documented smallest crop (8 px, --align-size 8) is refused"),
    dict(name="r9-align-grey-alpha-kept", file="dsan_tf/data/align.py",
         old="if channels in (1, 2):",
         new="if channels == 1:",
         tests=ALIGN,
         why="a grey+alpha (H x W x 2) image stays two channels and breaks the warp/detector"),
    dict(name="r9-align-largest-only-not-overridable", file="dsan_tf/data/align.py",
         old="if self.largest_only if largest_only is None else largest_only:",
         new="if self.largest_only or largest_only:",
         tests=ALIGN,
         why="align(image, largest_only=False) on a largest-only aligner still keeps one face"),
    # ------------------------------------------------------------------ realtime accounting (4)
    dict(name="r9-realtime-read-seconds-as-ms", file="dsan_tf/realtime.py",
         old='"read_ms_per_frame": round(1e3 * self.read_s / n, 2),',
         new='"read_ms_per_frame": round(self.read_s / n, 2),',
         tests=REALTIME,
         why="the decoding time per frame is reported in seconds under a ms name"),
    dict(name="r9-realtime-detection-time-is-classify", file="dsan_tf/realtime.py",
         old='"detection_ms_per_frame": round(1e3 * self.detect_s / n, 2),',
         new='"detection_ms_per_frame": round(1e3 * self.classify_s / n, 2),',
         tests=REALTIME,
         why="detection ms per frame repeats the classification time"),
    dict(name="r9-realtime-frames-per-s-counts-read", file="dsan_tf/realtime.py",
         old='"frames_per_s": self._rate(self.frames)',
         new='"frames_per_s": self._rate(self.read)',
         tests=REALTIME,
         why="frames/s counts frames read (skipped by stride, dropped) as processed"),
    dict(name="r9-bench-realtime-height-unchecked", file="dsan_tf/cli/bench_realtime.py",
         old="64 <= width <= 4096 and 64 <= height <= 4096",
         new="64 <= width <= 4096",
         tests=REALTIME,
         why="--size 640x10 is accepted (only the width is checked), and MTCNN gets a 10 px high frame"),
]
