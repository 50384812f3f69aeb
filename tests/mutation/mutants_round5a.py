"""Round 5 blind mutants, part a (issue 34): written from dsan_tf/ alone, before reading the tests.

Each entry is one plain text substitution in one file (``old`` occurs exactly once there): a plausible
one-line mistake an outside reviewer could imagine. ``tests`` are the module's own test files as picked
from their names alone (``ls tests/``). Entries whose (file, old) equals an earlier mutant's were dropped.

First pass (``--only <these 30> --no-baseline --jobs 1 --nice 19``, 20.7 min): 24/30 killed (80 %).
Per module: inference 4/4, api 2/3, cli/predict 0/3, export 3/3, cli/client 2/3, cli/export_tflite 1/1,
explain 3/3, data/align 3/3, face_record 1/2, pixels 1/1, live_detection 2/2, tracking 2/2. Survivors:
r5-api-forced-grayscale-ignored, r5-predict-faces-counted-per-image, r5-predict-annotated-clash-suffix-from-one,
r5-predict-live-path-two-videos-accepted, r5-client-extra-predictions-accepted,
r5-face-record-fewer-probabilities-accepted; none equivalent: each got a test at the end of its module's test
file (header "round 5 blind mutants (issue 34)"). Rerun of the six (same flags): 6/6 killed in 4.6 min, so
30/30 with the suite as committed.
"""

INFERENCE = ("tests/test_predict.py", "tests/test_api.py")
API = ("tests/test_api.py",)
PREDICT = ("tests/test_predict.py", "tests/test_exit_statuses.py")
EXPORT = ("tests/test_export.py",)
CLIENT = ("tests/test_client_replies.py", "tests/test_export_client.py")
TFLITE = ("tests/test_export_tflite.py",)
EXPLAIN = ("tests/test_explain.py",)
ALIGN = ("tests/test_align.py", "tests/test_geometry_properties.py")
RECORD = ("tests/test_vocabulary.py", "tests/test_geometry_properties.py")
PIXELS = ("tests/test_pixels.py", "tests/test_predict.py")
REALTIME = ("tests/test_realtime.py",)

FRESH_ROUND5A = [
    # ------------------------------------------------------------------ inference (4)
    dict(name="r5-inference-savedmodel-versions-sorted-as-text", file="dsan_tf/inference.py",
         old="versions = sorted((int(p.name), p) for p in path.iterdir()",
         new="versions = sorted((p.name, p) for p in path.iterdir()",
         tests=INFERENCE,
         why="version folders compared as text: with versions 9 and 10 in a TF Serving base folder, '9' > '10' "
             "and the older model is loaded."),
    dict(name="r5-inference-both-models-accepted", file="dsan_tf/inference.py",
         old="if (weights is None) == (savedmodel is None):",
         new="if weights is None and savedmodel is None:",
         tests=INFERENCE,
         why="load_predictor given both a .keras file and a SavedModel silently uses the .keras file instead "
             "of refusing the ambiguous request."),
    dict(name="r5-inference-face-numbered-from-one", file="dsan_tf/inference.py",
         old="rows.append(record.to_record(**base, face=i,",
         new="rows.append(record.to_record(**base, face=i + 1,",
         tests=INFERENCE,
         why="the face index of a prediction row counts from 1, while the docs and the annotated/explained "
             "faces count from 0 (largest face = face 0)."),
    dict(name="r5-inference-video-one-frame-too-many", file="dsan_tf/inference.py",
         old="while max_frames is None or emitted < max_frames:",
         new="while max_frames is None or emitted <= max_frames:",
         tests=INFERENCE,
         why="--max-frames N reads N + 1 frames of each video."),
    # ------------------------------------------------------------------ api (3)
    dict(name="r5-api-path-object-source-dropped", file="dsan_tf/api.py",
         old="return str(image) if isinstance(image, (str, os.PathLike)) else None",
         new="return str(image) if isinstance(image, str) else None",
         tests=API,
         why="a photo given as a pathlib.Path gets source None in its face dicts (only str paths are named)."),
    dict(name="r5-api-forced-grayscale-ignored", file="dsan_tf/api.py",
         old="self.grayscale = self.predictor.uses_grey(grayscale)",
         new="self.grayscale = self.predictor.uses_grey(None)",
         tests=API,
         why="FaceExpressionRecognizer(grayscale=True/False) is ignored: the model's record always decides."),
    dict(name="r5-api-grey-array-repeated-along-width", file="dsan_tf/api.py",
         old="image = np.repeat(image, 3, axis=2)",
         new="image = np.repeat(image, 3, axis=1)",
         tests=API,
         why="an H x W x 1 grey array is repeated along the width: a 3W-wide one-channel image instead of an "
             "RGB one (refused or mis-shaped downstream)."),
    # ------------------------------------------------------------------ predict command (3)
    dict(name="r5-predict-faces-counted-per-image", file="dsan_tf/cli/predict.py",
         old='counts["faces"] += len(rows)',
         new='counts["faces"] += 1',
         tests=PREDICT,
         why="the summary line counts photos with faces, not faces: a photo of three people adds 1."),
    dict(name="r5-predict-annotated-clash-suffix-from-one", file="dsan_tf/cli/predict.py",
         old="base, n = candidate, 2",
         new="base, n = candidate, 1",
         tests=PREDICT,
         why="the second annotated copy of a clashing name is <stem>_1.jpg instead of <stem>_2.jpg."),
    dict(name="r5-predict-live-path-two-videos-accepted", file="dsan_tf/cli/predict.py",
         old="if len(args.inputs) != 1 or not is_video(args.inputs[0]):",
         new="if not args.inputs or not is_video(args.inputs[0]):",
         tests=PREDICT,
         why="--chart / --annotate VIDEO with two inputs is accepted and the second input silently ignored."),
    # ------------------------------------------------------------------ export (3)
    dict(name="r5-export-version-zero-listed", file="dsan_tf/export.py",
         old="p.name.isdigit() and int(p.name) > 0)",
         new="p.name.isdigit() and int(p.name) >= 0)",
         tests=EXPORT,
         why="a folder named 0 counts as a served version (TF Serving versions are positive) and lands in "
             "models.config."),
    dict(name="r5-export-config-version-zero-accepted", file="dsan_tf/export.py",
         old="if v < 1]",
         new="if v < 0]",
         tests=EXPORT,
         why="a models.config listing version 0 is read without complaint instead of refused."),
    dict(name="r5-export-warmup-batch-not-cycled", file="dsan_tf/export.py",
         old="batch = [images[i % len(images)] for i in range(n)]",
         new="batch = images[:n]",
         tests=EXPORT,
         why="with 8 warmup images the 32-image warmup request holds only 8: the batch size 32 is never "
             "warmed."),
    # ------------------------------------------------------------------ client (3)
    dict(name="r5-client-webp-tag-offset", file="dsan_tf/cli/client.py",
         old='data[8:12] == b"WEBP"',
         new='data[4:8] == b"WEBP"',
         tests=CLIENT,
         why="the WebP tag read at the RIFF size field: every WebP photo is refused as not an image."),
    dict(name="r5-client-port-zero-accepted", file="dsan_tf/cli/client.py",
         old="1 <= int(port) <= 65535",
         new="0 <= int(port) <= 65535",
         tests=CLIENT,
         why="--rest http://host:0 is accepted instead of refused as an impossible port."),
    dict(name="r5-client-extra-predictions-accepted", file="dsan_tf/cli/client.py",
         old="if len(predictions) != count:",
         new="if len(predictions) < count:",
         tests=CLIENT,
         why="a reply with more predictions than images sent is accepted (answers no longer match files)."),
    # ------------------------------------------------------------------ export tflite command (1)
    dict(name="r5-tflite-accuracy-is-agreement", file="dsan_tf/cli/export_tflite.py",
         old='"accuracy": float((ids[name] == labels).mean())',
         new='"accuracy": float((ids[name] == ids["reference"]).mean())',
         tests=TFLITE,
         why="each TFLite model's reported accuracy is its agreement with the SavedModel, not with the labels."),
    # ------------------------------------------------------------------ explain (3)
    dict(name="r5-explain-upsample-width-height-swapped", file="dsan_tf/explain.py",
         old="big = cv2.resize(m, (width, height),",
         new="big = cv2.resize(m, (height, width),",
         tests=EXPLAIN,
         why="cv2's (width, height) given as (height, width): a non-square target gets a transposed-shape map."),
    dict(name="r5-explain-concentration-from-coolest", file="dsan_tf/explain.py",
         old="values = np.sort(heatmap.ravel())[::-1]",
         new="values = np.sort(heatmap.ravel())",
         tests=EXPLAIN,
         why="concentration sums the coolest 10 % of pixels instead of the hottest."),
    dict(name="r5-explain-3x3-map-refused", file="dsan_tf/explain.py",
         old="if min(h, w) < MIN_MAP_SIDE:",
         new="if min(h, w) <= MIN_MAP_SIDE:",
         tests=EXPLAIN,
         why="a 3x3 map (the documented minimum) is refused as too coarse."),
    # ------------------------------------------------------------------ align (3)
    dict(name="r5-align-xyxy-box-taken-as-xywh", file="dsan_tf/data/align.py",
         old="box = (float(x1), float(y1), float(x2 - x1), float(y2 - y1))",
         new="box = (float(x1), float(y1), float(x2), float(y2))",
         tests=ALIGN,
         why="mtcnn's xyxy rows read as xywh: every box is too wide and too tall by its corner's coordinates."),
    dict(name="r5-align-detection-copy-size-swapped", file="dsan_tf/data/align.py",
         old="size = (max(1, round(width * factor)), max(1, round(height * factor)))",
         new="size = (max(1, round(height * factor)), max(1, round(width * factor)))",
         tests=ALIGN,
         why="cv2.resize's (width, height) given as (height, width): a non-square photo is detected distorted "
             "and its boxes scaled back wrongly."),
    dict(name="r5-align-faces-column-counts-crops", file="dsan_tf/data/align.py",
         old='row["faces"] = len(faces)',
         new='row["faces"] = len(aligned)',
         tests=ALIGN,
         why="without --all-faces the report's faces column says 1 for a photo with several faces."),
    # ------------------------------------------------------------------ face record (2)
    dict(name="r5-face-record-box-as-corners", file="dsan_tf/face_record.py",
         old="return [x0, y0, x1 - x0, y1 - y0]",
         new="return [x0, y0, x1, y1]",
         tests=RECORD,
         why="the integer box is [x0, y0, x1, y1] (corners) instead of [x, y, w, h]."),
    dict(name="r5-face-record-fewer-probabilities-accepted", file="dsan_tf/face_record.py",
         old="if len(probabilities) != len(class_names):",
         new="if len(probabilities) > len(class_names):",
         tests=RECORD,
         why="fewer probabilities than class names are accepted: the last classes silently vanish."),
    # ------------------------------------------------------------------ pixels (1)
    dict(name="r5-pixels-one-finite-value-passes", file="dsan_tf/pixels.py",
         old="finite = np.isfinite(flat).all(axis=1)",
         new="finite = np.isfinite(flat).any(axis=1)",
         tests=PIXELS,
         why="an image with some NaN pixels passes the finiteness check and is reported as out of range "
             "instead of NaN/Inf."),
    # ------------------------------------------------------------------ live detection (2)
    dict(name="r5-live-scale-to-pnet-window", file="dsan_tf/live_detection.py",
         old="return min(1.0, _MTCNN_SAFE_MIN_FACE / max(float(min_face), 1.0))",
         new="return min(1.0, _PNET_WINDOW / max(float(min_face), 1.0))",
         tests=REALTIME,
         why="frames shrunk so the smallest wanted face is 12 px, not MTCNN's 20 px minimum: small faces lost."),
    dict(name="r5-live-moved-vertical-sign", file="dsan_tf/live_detection.py",
         old="abs(y0 + h0 / 2 - y1 - h1 / 2)",
         new="abs(y0 + h0 / 2 - y1 + h1 / 2)",
         tests=REALTIME,
         why="the vertical centre shift adds the new half-height instead of subtracting it: every face counts "
             "as moved, an extra ONet pass each frame."),
    # ------------------------------------------------------------------ tracking (2)
    dict(name="r5-tracking-iou-width-from-outer-left", file="dsan_tf/tracking.py",
         old="iw = min(ax + aw, bx + bw) - max(ax, bx)",
         new="iw = min(ax + aw, bx + bw) - min(ax, bx)",
         tests=REALTIME,
         why="intersection width measured from the leftmost edge: overlaps overstated, disjoint boxes side by "
             "side overlap."),
    dict(name="r5-tracking-missed-counted-for-matched", file="dsan_tf/tracking.py",
         old="if ti not in matched:",
         new="if ti in matched:",
         tests=REALTIME,
         why="a track seen this frame is counted missed and an unseen one is not: followed faces are dropped, "
             "lost ones live for ever."),
]
