"""Sanity checks of the explanations on labelled faces (issue 32): do the maps point at the face
part an expression is known to move, and do they depend on what the model learnt?

- Pointing: the peak of each map (:func:`dsan_tf.explain.map_summary`) against a region of
  the face, as fractions of its height and width: the mouth (rows 55-100 %, columns
  20-80 %) for happy faces the model calls happy; the mouth or the eyes (rows 20-50 %,
  columns 10-90 %) for surprised faces the model calls surprised. Chance is the region's
  area (27 %; 27 % + 24 % = 51 %).
- Corners: the share of all peaks in the four 20 % x 20 % corner squares (chance 16 %). A map
  too coarse for the face (2x2, upsampled edge-aligned) peaks there for every face.
- Weight randomisation (Adebayo et al., "Sanity Checks for Saliency Maps", NeurIPS 2018):
  the Spearman rank correlation, per face, between the map of the trained model and the
  map of the same architecture with re-initialised weights, for the same class: once with
  the top stage of the trunk and everything above it re-initialised (``top``), once with every
  weight re-initialised (``all``). A map that barely changes explains the architecture (or the
  image), not the model.
"""

from __future__ import annotations

import numpy as np

from dsan_tf.explain import ExplainError

# Face regions as (row from, row to, column from, column to), fractions of the face.
MOUTH = (0.55, 1.0, 0.20, 0.80)
EYES = (0.20, 0.50, 0.10, 0.90)
CORNER = 0.20
# Which region the peak should fall in, per class name (names of FERPlus, RAF-DB, AffectNet).
EXPECTED_PARTS = {"happiness": ("mouth",), "happy": ("mouth",), "surprise": ("mouth", "eyes")}
REGIONS = {"mouth": MOUTH, "eyes": EYES}
RANDOMISATIONS = ("top", "all")


def in_region(rows, cols, region) -> np.ndarray:
    """Whether each (row, column) fraction lies in ``region`` (bounds included)."""
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    r0, r1, c0, c1 = region
    return (rows >= r0) & (rows <= r1) & (cols >= c0) & (cols <= c1)


def in_corner(rows, cols, side: float = CORNER) -> np.ndarray:
    """Whether each (row, column) fraction lies in one of the four ``side`` x ``side`` corner squares."""
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    return ((rows < side) | (rows > 1 - side)) & ((cols < side) | (cols > 1 - side))


def region_area(parts) -> float:
    """Chance of a uniformly random peak falling in the union of ``parts`` (disjoint regions)."""
    return float(sum((REGIONS[p][1] - REGIONS[p][0]) * (REGIONS[p][3] - REGIONS[p][2]) for p in parts))


def peaks(maps) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of each map's peak (its hottest cell's centre) as fractions of the face; NaN for a flat map."""
    from dsan_tf.explain import map_summary

    summaries = [map_summary(m, m) for m in maps]
    rows = np.array([np.nan if s["peak_row"] is None else s["peak_row"] for s in summaries])
    cols = np.array([np.nan if s["peak_col"] is None else s["peak_col"] for s in summaries])
    return rows, cols


def spearman(first, second) -> np.ndarray:
    """Per pair of maps, the Spearman rank correlation of their cells; NaN where either map is flat."""
    from scipy.stats import spearmanr

    out = np.full(len(first), np.nan)
    for i, (a, b) in enumerate(zip(first, second)):
        a, b = np.ravel(a), np.ravel(b)
        if np.ptp(a) > 1e-6 and np.ptp(b) > 1e-6:
            out[i] = spearmanr(a, b).statistic
    return out


def _trunk_stage(name: str) -> int | None:
    """The ResNet stage (1-4) of a trunk layer's name, 0 for the stem (conv1, bn1), None for the heads."""
    if name.startswith(("conv1", "bn1")):
        return 0
    if name.startswith("layer") and name[5:6].isdigit():
        return int(name[5])
    return None


def randomised_copy(model, scope: str = "all", seed: int = 0):
    """The same DSAN with re-initialised weights (its initialisers, seeded): ``scope="top"`` re-initialises
    the trunk's last stage and everything above it (attention heads, classifiers), ``"all"`` every weight;
    the others keep the trained values. BatchNorm statistics are reset with their layer."""
    import keras

    from dsan_tf.model import DSAN

    if scope not in RANDOMISATIONS:
        raise ExplainError(f"unknown randomisation {scope!r}; expected one of {', '.join(RANDOMISATIONS)}")
    keras.utils.set_random_seed(seed)
    fresh = DSAN.from_config({**model.get_config(), "dtype": "float32"})
    if scope == "all":
        return fresh
    top = max(s for s in (_trunk_stage(layer.name) for layer in model.layers) if s is not None)
    for layer in model.layers:
        stage = _trunk_stage(layer.name)
        if stage is not None and stage < top and layer.weights:
            fresh.get_layer(layer.name).set_weights(layer.get_weights())
    return fresh


def load_faces(data, split: str = "valid", per_class: int = 100, seed: int = 0):
    """(uint8 face crops, labels, names) of up to ``per_class`` faces of every class of ``split`` of a
    :class:`dsan_tf.data.table.LabelledImages`, drawn at random (``seed``), in class order."""
    from dsan_tf.inference import load_image

    table = data.split(split)
    picked = []
    for k in range(data.num_classes):
        rows = table[table["label"] == k]
        if len(rows):
            picked.append(rows.sample(min(per_class, len(rows)), random_state=seed))
    if not picked:
        raise ExplainError(f"{data.dataset}: split '{split}' holds no faces")
    import pandas as pd

    rows = pd.concat(picked)
    faces = [load_image(path) for path in rows["path"]]
    return faces, rows["label"].to_numpy(np.int64), rows["name"].astype(str).tolist()


def run_check(model, faces, labels, dataset_classes, *, method: str = "gradcam", stream: str = "fused",
              layer: str | None = None, seed: int = 0, batch_size: int = 64, progress=None) -> dict:
    """The sanity benchmark on labelled face crops (uint8 RGB, any size); returns a JSON-ready dict.

    ``dataset_classes``: the names of ``labels``; they must be the model's classes (same order).
    ``progress(n)``: called with the number of faces mapped after each batch (3 maps per face).
    """
    from dsan_tf.explain import check_method, check_stream, class_names_of, default_layer, map_size, resolve_layer
    from dsan_tf.inference import as_grey_rgb, model_inputs
    from dsan_tf.model import as_float32

    check_method(method)
    check_stream(model, stream)
    names = class_names_of(model)
    if [str(n) for n in dataset_classes] != names:
        raise ExplainError(f"the data's classes ({', '.join(map(str, dataset_classes))}) are not the model's "
                           f"({', '.join(names)})")
    if model.settings.get("dtype", "float32") != "float32":
        model = as_float32(model)
    layer = resolve_layer(model, layer)
    size = int(model.settings["image_size"])
    grey = bool(model.settings.get("grayscale_input", False))
    labels = np.asarray(labels, np.int64)
    copies = {scope: randomised_copy(model, scope, seed) for scope in RANDOMISATIONS}

    predicted, trained, randomised = [], [], {scope: [] for scope in RANDOMISATIONS}
    for start in range(0, len(faces), batch_size):
        batch = faces[start:start + batch_size]
        _, inputs = model_inputs([as_grey_rgb(f) for f in batch] if grey else batch, size)
        pred = np.asarray(model.predict_on_batch(inputs)["probabilities"]).argmax(axis=1)
        predicted.append(pred)
        trained.append(_maps(model, inputs, pred, method, stream, layer))
        for scope, copy in copies.items():  # the same class as the trained model's map
            randomised[scope].append(_maps(copy, inputs, pred, method, stream, layer))
        if progress is not None:
            progress(len(batch))
    predicted = np.concatenate(predicted)
    trained = np.concatenate(trained)
    rows, cols = peaks(trained)
    has_peak = ~np.isnan(rows)

    pointing = {}
    for k, name in enumerate(names):
        parts = EXPECTED_PARTS.get(name.lower())
        if not parts:
            continue
        chosen = (labels == k) & (predicted == k) & has_peak
        hit = np.zeros(len(labels), bool)
        for part in parts:
            hit |= in_region(np.nan_to_num(rows), np.nan_to_num(cols), REGIONS[part])
        pointing[name] = {"region": " or ".join(parts), "faces": int(chosen.sum()),
                          "rate": _rate(hit[chosen]), "chance": round(region_area(parts), 4)}
    corner = in_corner(rows[has_peak], cols[has_peak])
    randomisation = {}
    for scope in RANDOMISATIONS:
        rho = spearman(trained, np.concatenate(randomised[scope]))
        valid = rho[~np.isnan(rho)]
        randomisation[scope] = {"mean_spearman": None if not len(valid) else round(float(valid.mean()), 4),
                                "median_spearman": None if not len(valid) else round(float(np.median(valid)), 4),
                                "faces": int(len(valid)), "flat_maps": int(len(rho) - len(valid))}
    h, w = map_size(model, layer)
    return {
        "method": method, "stream": stream, "layer": layer, "map_size": [h, w], "image_size": size,
        "default_layer": default_layer(model) == layer,
        "faces": int(len(labels)), "flat_maps": int((~has_peak).sum()),
        "accuracy": round(float((predicted == labels).mean()), 4),
        "pointing": pointing,
        "corner": {"rate": _rate(corner), "faces": int(has_peak.sum()), "chance": round(4 * CORNER * CORNER, 4)},
        "randomisation": randomisation,
        "regions": {"mouth": list(MOUTH), "eyes": list(EYES), "corner_side": CORNER},
        "seed": int(seed),
    }


def _maps(model, inputs, targets, method, stream, layer):
    from dsan_tf.explain import class_maps

    return class_maps(model, inputs, targets, method, stream, layer)


def _rate(hits) -> float | None:
    hits = np.asarray(hits, bool)
    return round(float(hits.mean()), 4) if hits.size else None


def check_targets(result: dict) -> dict:
    """Issue 32's targets against a result: {name: (met, what)}; a target without data is not met."""
    out = {}
    happy = next((v for k, v in result["pointing"].items() if k.lower() in ("happiness", "happy")), None)
    if happy is not None:
        out["happy faces peak on the mouth >= 65 %"] = (happy["rate"] is not None and happy["rate"] >= 0.65,
                                                         _percent(happy["rate"]))
    out["peaks in a corner <= 10 %"] = (result["corner"]["rate"] is not None and result["corner"]["rate"] <= 0.10,
                                        _percent(result["corner"]["rate"]))
    rho = result["randomisation"]["all"]["mean_spearman"]
    out["mean Spearman, all weights randomised <= 0.3"] = (rho is not None and rho <= 0.3,
                                                           "n/a" if rho is None else f"{rho:.2f}")
    return out


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.0f} %"


def table(result: dict) -> str:
    """The result as a small text table (what ``dsan explain --check`` prints)."""
    h, w = result["map_size"]
    lines = [f"{result['method']} on {result['layer']} ({h}x{w} map, {result['image_size']} px faces"
             f"{', the default' if result['default_layer'] else ''}), stream {result['stream']}: "
             f"{result['faces']} faces, accuracy {_percent(result['accuracy'])}, {result['flat_maps']} flat maps",
             f"{'check':<52} {'faces':>6} {'rate':>7} {'chance':>7}"]
    for name, p in result["pointing"].items():
        what = f"peak on the {p['region']}, {name} called {name}"
        lines.append(f"{what:<52} {p['faces']:>6} {_percent(p['rate']):>7} {_percent(p['chance']):>7}")
    c = result["corner"]
    lines.append(f"{'peak in a corner (4 squares of 20 %), all faces':<52} {c['faces']:>6} {_percent(c['rate']):>7} "
                 f"{_percent(c['chance']):>7}")
    for scope, what in (("top", "top stage + heads"), ("all", "all weights")):
        r = result["randomisation"][scope]
        rho = "n/a" if r["mean_spearman"] is None else f"{r['mean_spearman']:.2f}"
        label = f"Spearman trained vs randomised ({what}), mean"
        lines.append(f"{label:<52} {r['faces']:>6} {rho:>7} {'':>7}")
    lines.append("targets: " + "; ".join(f"{name}: {'met' if met else 'NOT met'} ({value})"
                                         for name, (met, value) in check_targets(result).items()))
    return "\n".join(lines)
