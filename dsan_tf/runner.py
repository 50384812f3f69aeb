"""One experiment end to end: data, model, training, evaluation, outputs.

``experiments/run.py`` turns flags into a settings dict and calls ``train_and_evaluate``
or ``evaluate_only``; everything here is importable and testable without a CLI.
"""

import contextlib
import logging
import math
import platform
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import dsan_tf
from dsan_tf.data.pipeline import AugmentConfig, check_decodable, class_balanced_weights, make_dataset
from dsan_tf.data.registry import load_dataset
from dsan_tf.data.subsets import load_subset_list, match_subset
from dsan_tf.errors import UserError
from dsan_tf.distillation import read_teacher_labels, teacher_fingerprint, with_teacher_targets
from dsan_tf.distribute import is_chief, needs_custom_loop, pick_strategy
from dsan_tf.ema import WeightAverage
from dsan_tf.evaluation import collect_outputs, evaluate_outputs
from dsan_tf.inference import ModelLoadError, load_dsan, model_files
from dsan_tf.io_utils import OutputError, atomic_path, check_output_path, write_json
from dsan_tf.outputs import (describe_kind, foreign_entries, lock_output, lock_path, read_marker,
                             remove_empty_folders, write_marker)
from dsan_tf.model import DEFAULT_CENTRE_SEPARATION_WEIGHT, as_float32, build_dsan, default_centre_sgd, feature_size
from dsan_tf.precision import cpu_description, resolve_precision
from dsan_tf.resnet import TRUNK_CHANNELS
from dsan_tf.state_files import StateFileError, read_run_config
from dsan_tf.progress import fit_verbosity
from dsan_tf.plots import plot_confusion_matrix, plot_training_curves
from dsan_tf.training import (OptimiserSettings, TrainingDiverged, checkpoint_numbers, compile_for_training,
                              fit_resumable)

log = logging.getLogger(__name__)

# Settings that may differ between an interrupted run and its --resume.
# The precision that "auto" resolved to may differ between machines (the weights are float32 either way).
NOT_CONFIGURATION = {"resume", "output", "verbose", "time_budget_minutes", "checkpoint_every", "devices",
                     "precision", "precision_reason"}
# Settings added after runs were recorded, with the value those runs were made with: a config.json
# without one of them is compared (on --resume, by ablate) as if it held that value.
ADDED_SETTINGS = {"ema_decay": 0.0, "teacher_labels": None, "teacher_weight": 0.5}


class RunError(UserError):
    """A problem with the user's request, reported as one clear line by the CLI."""


# ------------------------------------------------------------------ checks before any work
def _number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Setting -> (test, what it must be). The model checks its own settings again when built (before
# config.json is written); F and r are checked here too, since the model is built after the data is read.
TRAINING_LIMITS = {
    "epochs": (lambda v: _number(v) and v >= 1, "an integer >= 1"),
    "batch_size": (lambda v: _number(v) and v >= 1, "an integer >= 1"),
    "learning_rate": (lambda v: _number(v) and v > 0, "a finite number > 0"),
    "decay_rate": (lambda v: _number(v) and v > 0, "a finite number > 0"),
    "warmup_epochs": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "weight_decay": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "centre_learning_rate": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "centre_momentum": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1)"),
    "lambda1": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "lambda2": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "centre_separation_weight": (lambda v: _number(v) and v >= 0, "a finite number >= 0"),
    "rotation": (lambda v: _number(v) and 0 <= v <= 180, "degrees in [0, 180]"),
    "random_erasing": (lambda v: _number(v) and 0 <= v <= 1, "a probability in [0, 1]"),
    "checkpoint_every": (lambda v: _number(v) and v >= 0, "an integer >= 0 (0: only at epoch ends)"),
    "time_budget_minutes": (lambda v: v is None or (_number(v) and v >= 0), "minutes >= 0 (0: no limit)"),
    "seed": (lambda v: _number(v) and 0 <= v < 2**32, "an integer in [0, 2**32)"),
    "ema_decay": (lambda v: _number(v) and 0 <= v < 1, "a number in [0, 1) (0: no EMA)"),
    "teacher_weight": (lambda v: _number(v) and 0 < v <= 1, "a number in (0, 1]"),
    # MFF-AN cuts the trunk's 512 channels into F equal chunks (the model refuses others, but only
    # once the data is read and decoded: minutes on a real dataset).
    "split_num": (lambda v: _number(v) and v == int(v) and feature_size(v) is not None,
                  f"a divisor of the trunk's {TRUNK_CHANNELS} channels (1, 2, 4, 8, ..., {TRUNK_CHANNELS})"),
}
EVALUATION_LIMITS = {"batch_size": TRAINING_LIMITS["batch_size"]}


def check_settings(settings, limits=TRAINING_LIMITS):
    """RunError naming the first flag whose value is out of range (before anything is read or written)."""
    for name, (valid, expected) in limits.items():
        if name in settings and not valid(settings[name]):
            raise RunError(f"--{name.replace('_', '-')} {settings[name]}: expected {expected}")
    if limits is TRAINING_LIMITS and _number(settings.get("reduction")) and "split_num" in settings:
        chunk = feature_size(settings["split_num"])  # d = C/F, the features the sparse attention reduces by r
        if not 1 <= settings["reduction"] <= chunk:
            raise RunError(f"--reduction {settings['reduction']}: expected an integer in [1, {chunk}] "
                           f"({TRUNK_CHANNELS} channels / --split-num {settings['split_num']})")


def with_centre_sgd_defaults(settings):
    """``settings`` with the centres' SGD rate and momentum filled in where left unset (None):
    those that suit the centre update (model.DEFAULT_CENTRE_SGD); config.json records them."""
    rate, momentum = default_centre_sgd(settings.get("centre_update", "centre-loss"),
                                        settings.get("centre_learning_rate"), settings.get("centre_momentum"))
    return {**settings, "centre_learning_rate": rate, "centre_momentum": momentum}


def check_output_dir(settings, inputs):
    """The run directory, if it can be one: not a file, not an input, not inside one, creatable."""
    try:
        return check_output_path(settings["output"], inputs=inputs, folder=True)
    except OutputError as error:
        raise RunError(str(error)) from None


def input_paths(settings, subset_lists):
    # A shipped model's name (--weights ferplus) stands for its files in the package.
    return [settings.get("data_dir"), settings.get("backbone_weights"), *model_files(settings.get("init_from")),
            *model_files(settings.get("weights")), settings.get("teacher_labels"),
            *(path for path, _ in subset_lists.values())]


# ------------------------------------------------------------------ the run directory
LOCK_FILE = ".lock"  # the lock of earlier versions, inside the run directory (ignored; see locked_run_directory)


def lock_file(output_dir):
    """The lock file of a run directory: ``.<name>.lock`` beside it (:func:`dsan_tf.outputs.lock_path`)."""
    return lock_path(output_dir)


@contextlib.contextmanager
def locked_run_directory(output_dir):
    """Hold an exclusive lock on ``output_dir`` while the block runs, creating the directory.

    ``flock`` on ``.<name>.lock`` beside the directory, taken before the directory is
    created: a second run into the same (new or existing) directory is refused at once.
    The lock file is removed when the block ends, however it ends; the kernel drops the
    lock of a killed run, so its leftover lock file does not block the next one. A
    directory this call created is removed again when the block fails before writing
    anything into it.
    """
    output_dir = Path(output_dir)
    created = not output_dir.exists()
    try:
        lock, parents = lock_output(output_dir, str(output_dir), holder_kind="another run",
                                    advice="pick another --output")
    except OutputError as error:
        raise RunError(str(error)) from None
    except OSError as error:
        raise RunError(f"--output {output_dir}: cannot create the run directory ({error.strerror})") from None
    try:
        try:
            output_dir.mkdir(exist_ok=True)
        except OSError as error:
            raise RunError(f"--output {output_dir}: cannot create the run directory ({error.strerror})") from None
        try:
            yield
        except BaseException:
            if created:
                with contextlib.suppress(OSError):
                    output_dir.rmdir()  # only when nothing was written into it
                remove_empty_folders(parents)
            raise
    finally:
        lock.release()


def has_checkpoint(output_dir):
    """Whether ``output_dir/checkpoints`` holds a ``ckpt-N`` (found on disk: the state file may be gone)."""
    return bool(checkpoint_numbers(output_dir / "checkpoints"))


def folder_kind(output_dir):
    """What ``output_dir`` holds, by its marker (dsan_tf.outputs): "run", "evaluation", another kind;
    for a folder written before markers existed, "run" or "evaluation" as its config.json says (a
    run only with a checkpoint or model); "empty"; None: files this command did not make."""
    if not foreign_entries(output_dir):
        return "empty"  # nothing but the lock and the marker: nothing to lose
    marker = read_marker(output_dir)
    if marker is not None:
        return marker[0]
    if not (output_dir / "config.json").is_file():
        return None
    try:
        eval_only = read_run_config(output_dir)["settings"].get("eval_only", False)
    except StateFileError:
        return None
    if eval_only:
        return "evaluation"
    if has_checkpoint(output_dir) or (output_dir / "model.keras").exists():
        return "run"
    return None


def refuse_foreign(output_dir, what):
    shown = ", ".join(foreign_entries(output_dir)[:4])
    raise RunError(f"--output {output_dir}: holds files {what} did not make ({shown}); "
                   "pick a new or empty --output")


def start_or_resume(output_dir, settings, chief=True):
    """Check the (locked) run directory; True to resume from its checkpoint, False to start (over).

    The folder's marker decides: only a training run is resumed (its configuration checked even
    when it has no checkpoint yet), never an evaluation or someone else's files; a run is started
    over only when the folder is its own (marked) and holds no checkpoint. Checkpoints are found
    on disk, so a missing ``checkpoints/checkpoint`` state file loses nothing.
    """
    if not chief:
        return bool(settings["resume"]) and has_checkpoint(output_dir)
    kind = folder_kind(output_dir)
    if not settings["resume"]:
        if kind != "empty":
            raise RunError(f"output directory {output_dir} is not empty; use --resume to continue it "
                           "or pick another --output")
        return False
    if kind == "empty":
        raise RunError(f"--resume: {output_dir} has no config.json; nothing to resume")
    if kind is None:
        refuse_foreign(output_dir, "a training run (no checkpoint, no run marker)")
    if kind != "run":
        raise RunError(f"--resume: --output {output_dir} holds {describe_kind(kind)}, not a training run; "
                       "nothing to resume: pick another --output")
    if not (output_dir / "config.json").is_file():
        raise RunError(f"--resume: {output_dir} has no config.json; nothing to resume")
    check_resume_config(output_dir, settings)
    write_marker(output_dir, "run", "train")  # a run from before markers gets one
    if not has_checkpoint(output_dir):
        log.warning("--resume: %s has no checkpoint (the run stopped before its first one): starting it over",
                    output_dir)
        (output_dir / "history.csv").unlink(missing_ok=True)
        return False
    return True


def holds_training_run(output_dir):
    """Whether ``output_dir`` holds a training run (which --eval-only must not overwrite)."""
    if folder_kind(output_dir) == "run":
        return True
    if (output_dir / "checkpoints").exists() or (output_dir / "model.keras").exists():
        return True
    if not (output_dir / "config.json").is_file():
        return False
    try:
        return not read_run_config(output_dir)["settings"].get("eval_only", False)
    except StateFileError:
        return True  # unreadable: treat as precious


# ------------------------------------------------------------------ data
def load_data(settings, label_mode=None):
    try:
        data = load_dataset(settings["dataset"], settings.get("data_dir"), label_mode=label_mode or settings["label_mode"])
    except (ValueError, FileNotFoundError) as error:
        raise RunError(str(error)) from error
    for note in data.report:
        log.info("data: %s", note)
    return data


def evaluation_split(data, requested=None):
    """The split to report on: the one asked for, else test, else valid (said in metrics.json)."""
    if requested:
        if requested not in data.splits:
            raise RunError(f"split {requested!r} not in the dataset; it has {', '.join(data.splits)}")
        return requested
    for split in ("test", "valid"):
        if split in data.splits:
            return split
    raise RunError(f"no test or valid split to evaluate on; the dataset has {', '.join(data.splits)}")


def read_subset_lists(subset_args):
    """``NAME=LIST`` pairs -> {name: (path, names)}: every list read and checked before any work."""
    lists = {}
    for arg in subset_args or []:
        name, sep, path = arg.partition("=")
        if not sep or not name or not path:
            raise RunError(f"--subset expects NAME=LIST_FILE, got {arg!r}")
        if name in lists:
            raise RunError(f"--subset {name} is given twice")
        lists[name] = (path, load_subset_list(path))
    return lists


def subset_masks(subset_lists, table):
    """{name: (path, names)} -> boolean masks over ``table``; a list that matches nothing is an error."""
    masks = {}
    for name, (path, names) in subset_lists.items():
        mask, unmatched = match_subset(table, names)
        mask = np.asarray(mask, bool)
        if not mask.any():
            raise RunError(f"--subset {name}: none of the {len(names)} names in {path} is in the evaluated split")
        if unmatched:
            log.warning("subset %s: %d of %d names in %s match no image of the split", name, unmatched, len(names), path)
        masks[name] = mask
    return masks


def decoded_image_cache(directory, image_size):
    """A tf.data file-cache prefix; a cache left incomplete by an interrupted run is removed first."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / f"train-{image_size}px"
    if not Path(f"{prefix}.index").exists():
        for partial in directory.glob(f"{prefix.name}*"):
            partial.unlink()
    return str(prefix)


def augment_config(settings):
    return AugmentConfig(
        random_crop=settings["random_crop"],
        horizontal_flip=settings["horizontal_flip"],
        rotation_degrees=settings["rotation"],
        random_erasing=settings["random_erasing"],
    )


def eval_dataset(table, num_classes, settings):
    return make_dataset(table, num_classes, settings["image_size"], settings["batch_size"], training=False)


# ------------------------------------------------------------------ model
def model_kwargs(settings, class_names):
    return dict(
        num_classes=len(class_names),
        image_size=settings["image_size"],
        variant=settings["variant"],
        alpha=settings["alpha"],
        lambda1=settings["lambda1"],
        lambda2=settings["lambda2"],
        num_splits=settings["split_num"],
        reduction=settings["reduction"],
        use_hfe=settings["hfe"],
        use_sa=settings["sa"],
        use_lfa=settings["lfa"],
        stop_attention_gradient=settings.get("stop_attention_gradient", True),
        centre_update=settings.get("centre_update", "centre-loss"),
        centre_separation_weight=settings.get("centre_separation_weight", DEFAULT_CENTRE_SEPARATION_WEIGHT),
        class_names=list(class_names),
        # FERPlus faces are grey: recorded so that inference greys colour faces the same way.
        grayscale_input=settings["dataset"] == "ferplus",
        dtype=settings.get("precision", settings["mixed_precision"]),
    )


def load_trained_model(path):
    """A DSAN from a ``.keras`` file, or a RunError that names the file and what it holds."""
    try:
        return load_dsan(path)
    except ModelLoadError as error:
        raise RunError(str(error)) from error


def initialise_from(model, source):
    """Copy every layer whose name and weight shapes match (fine-tuning; new heads when classes differ)."""
    copied, skipped = [], []
    source_layers = {layer.name: layer for layer in source.layers}
    for layer in model.layers:
        other = source_layers.get(layer.name)
        if other is None or not layer.weights:
            continue
        if [w.shape for w in layer.weights] == [w.shape for w in other.weights]:
            layer.set_weights(other.get_weights())
            copied.append(layer.name)
        else:
            skipped.append(layer.name)
    if model.class_centres is not None and source.class_centres is not None:
        if model.class_centres.shape == source.class_centres.shape:
            model.class_centres.assign(source.class_centres)
    log.info("--init-from: copied %d layers, re-initialised %s", len(copied), skipped or "none")
    return copied, skipped


# ------------------------------------------------------------------ outputs
def _git(*args):
    try:
        result = subprocess.run(["git", *args], capture_output=True, text=True, cwd=Path(__file__).parent, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def versions():
    commit = _git("rev-parse", "HEAD") or None
    changes = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return {
        "dsan_tf": dsan_tf.__version__,
        "git_commit": commit,
        # Uncommitted changes to tracked files: the commit alone does not reproduce the run.
        "git_dirty": bool(changes) if changes is not None else None,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": cpu_description(),
    }


def check_resume_config(output_dir, settings):
    previous = read_run_config(output_dir, hint="the run cannot be resumed; start it again in a new --output")[
        "settings"]
    detail = configuration_differences(previous, settings)
    if detail:
        raise RunError(f"--resume: {output_dir} was trained with another configuration ({detail})")


def configuration_differences(previous, settings) -> str:
    """The settings (not NOT_CONFIGURATION) whose value in ``previous`` (a config.json's) differs from
    ``settings``, as "key: was A, now B; ..."; "" when the two configurations are the same."""
    previous = {**ADDED_SETTINGS, **previous}
    changed = {
        k: (previous.get(k), v)
        for k, v in settings.items()
        if k not in NOT_CONFIGURATION and previous.get(k) != v
    }
    return "; ".join(f"{k}: was {a!r}, now {b!r}" for k, (a, b) in sorted(changed.items()))


def run_matches(run_dir, settings, what) -> None:
    """RunError unless the run in ``run_dir`` was made with ``settings`` (as dsan train's flags give them): a
    result of another configuration found in a folder must not stand for this one (``what`` names it)."""
    config = Path(run_dir) / "config.json"
    if not config.is_file():
        raise RunError(f"{run_dir}: holds a result but no config.json, so nothing says it is {what}; "
                       "move the folder away to compute it again")
    previous = read_run_config(run_dir)["settings"]
    detail = configuration_differences(previous, with_centre_sgd_defaults(settings))
    if detail:
        raise RunError(f"{run_dir}: its result is not {what}: it was made with another configuration ({detail}); "
                       "move the folder away to compute it again")


def profile(model):
    try:
        from dsan_tf.profiling import count_macs, count_parameters
    except ImportError:
        return {}
    params = count_parameters(model)
    macs = count_macs(model)
    return {**params, "macs": macs, "flops": 2 * macs}


def score(model, data, split, settings, masks=None):
    """(evaluate_outputs' figures of ``model`` on ``split``, evaluated in float32; the float32 copy)."""
    evaluated = as_float32(model)
    outputs = collect_outputs(evaluated, eval_dataset(data.split(split), data.num_classes, settings))
    return evaluate_outputs(outputs, list(data.class_names), masks or {}), evaluated


def write_evaluation(model, data, split, settings, output_dir, masks=None, label_mode=None):
    """Evaluate in float32 and write metrics.json and confusion_matrix.png; returns the metrics.

    ``masks``: {name: boolean mask over the split} (``subset_masks``) for per-subset accuracy.
    """
    figures, evaluated = score(model, data, split, settings, masks)
    metrics = {
        "dataset": settings["dataset"],
        "split": split,
        "label_mode": label_mode or settings["label_mode"],
        **figures,
        "class_names": list(data.class_names),
        **profile(evaluated),
    }
    write_json(metrics, output_dir / "metrics.json")
    plot_confusion_matrix(
        metrics["confusion_matrix"], data.class_names, output_dir / "confusion_matrix.png",
        title=f"{settings['dataset']} {split}",
    )
    return metrics


# ------------------------------------------------------------------ entry points
def train_and_evaluate(settings):
    """Train as ``settings`` say, then evaluate; returns the metrics dict.

    Everything that can be checked is checked before training: flags, paths, subset
    lists, the model's settings and starting weights, every image (decoded once into
    the cache). The run directory is locked while the run uses it, and config.json is
    written only once the model is built.
    """
    settings = with_centre_sgd_defaults(settings)
    check_settings(settings)
    # MultiWorkerMirroredStrategy must exist before TensorFlow's runtime starts.
    try:
        strategy = pick_strategy(settings.get("devices"))
    except ValueError as error:
        raise RunError(str(error)) from None
    chief = is_chief()  # only the chief checks, locks and writes the run directory
    policy, reason = resolve_precision(settings["mixed_precision"])
    log.info("precision: %s (%s)", policy, reason)
    settings = {**settings, "precision": policy, "precision_reason": reason}  # config.json records both
    if settings.get("teacher_labels"):  # recorded, so that --resume refuses a teacher file changed since
        settings["teacher_labels_sha256"] = teacher_fingerprint(settings["teacher_labels"])
    subset_lists = read_subset_lists(settings.get("subset"))
    output_dir = check_output_dir(settings, input_paths(settings, subset_lists))
    with locked_run_directory(output_dir) if chief else contextlib.nullcontext():
        return _train_and_evaluate(settings, strategy, chief, output_dir, subset_lists)


def _train_and_evaluate(settings, strategy, chief, output_dir, subset_lists):
    resume = start_or_resume(output_dir, settings, chief)
    keras.utils.set_random_seed(settings["seed"])
    if settings.get("preset") == "paper" and not settings.get("backbone_weights") and not settings.get("init_from"):
        log.warning("the paper preset's figures assume the MS-Celeb-1M ResNet-18 trunk (--backbone-weights "
                    "resnet18_msceleb.pth); training from random weights instead")
    data = load_data(settings)
    train_table = data.split("train")
    if settings.get("teacher_labels"):
        train_table = with_teacher_targets(train_table, read_teacher_labels(settings["teacher_labels"]),
                                           settings["teacher_weight"], data.class_names,
                                           f"--teacher-labels {settings['teacher_labels']}")
        log.info("targets: %g x the dataset's + %g x the teachers' of %s", 1 - settings["teacher_weight"],
                 settings["teacher_weight"], settings["teacher_labels"])
    split = evaluation_split(data, settings.get("split"))
    validation = "valid" if "valid" in data.splits else None
    # Soft targets are a way to train; FERPlus' protocol (and the paper's) scores majority votes.
    eval_data = load_data(settings, label_mode="majority") if settings["label_mode"] == "probability" else data
    masks = subset_masks(subset_lists, eval_data.split(split))
    # A corrupt image must not surface after hours of training: decode the evaluated images now.
    check_decodable(eval_data.split(split), settings["image_size"])
    if validation and validation != split:
        check_decodable(data.split(validation), settings["image_size"])

    batches_per_epoch = int(np.ceil(len(train_table) / settings["batch_size"]))
    weights = class_balanced_weights(train_table["label"], data.num_classes) if settings["class_weight"] == "balanced" else None
    augment = augment_config(settings)
    model = build_model(settings, data, strategy, batches_per_epoch)
    ema = None
    if settings.get("ema_decay"):
        with strategy.scope():  # shadows of the starting weights; a resume restores them from the checkpoint
            ema = WeightAverage(model, settings["ema_decay"])
    if chief and not resume:
        write_marker(output_dir, "run", "train")  # from now on the folder is a run (dsan_tf.outputs)
        write_json({"settings": settings, "versions": versions(), "evaluation_split": split}, output_dir / "config.json")

    cache = None
    if not needs_custom_loop(strategy):
        cache = decoded_image_cache(output_dir / "cache", settings["image_size"])
        check_decodable(train_table, settings["image_size"], cache,
                        per_class=data.num_classes if settings["oversample"] else None)

    def train_data(epoch, input_context=None):
        # A seed per epoch: epoch e's batches are the same whether or not the run was resumed.
        # The decoded images live in a file cache, shared by every epoch's dataset and by a resumed run.
        return make_dataset(
            train_table, data.num_classes, settings["image_size"], settings["batch_size"], training=True,
            augment=augment, seed=settings["seed"] * 1000 + epoch, oversample=settings["oversample"],
            sample_weights=weights, cache=cache if input_context is None else True,
            input_context=input_context, drop_remainder=input_context is not None,
        )

    validation_data = (
        eval_dataset(data.split(validation), data.num_classes, settings) if validation and validation != split else None
    )
    budget = settings.get("time_budget_minutes")
    if needs_custom_loop(strategy):
        # Every worker runs the same number of steps on its shard, remainder dropped.
        batches_per_epoch = len(train_table) // settings["batch_size"]
        validation_data = None
        log.info("multi-worker training: %d steps per epoch, validation after training only", batches_per_epoch)
    keras_verbose, progress = fit_verbosity(settings["verbose"])  # 1: one compact line per epoch
    try:
        summary = fit_resumable(
            model, train_data, settings["epochs"], output_dir, strategy=strategy, steps_per_epoch=batches_per_epoch,
            validation_data=validation_data, resume=resume,
            checkpoint_every=settings["checkpoint_every"], time_budget_s=budget * 60 if budget else None,
            verbose=keras_verbose, extra_callbacks=progress, ema=ema,
        )
    except TrainingDiverged as error:
        raise RunError(str(error)) from None
    if not chief:
        return None  # the chief writes the model, plots and metrics
    last = None
    if ema is not None:
        # The last step's weights beside the EMA model, scored on the same split: what the EMA bought.
        with atomic_path(output_dir / LAST_WEIGHTS) as tmp:
            model.save(tmp)
        last, _ = score(model, eval_data, split, settings, masks)
        ema.copy_to_model()  # from here on the model is the EMA: saved, evaluated, shipped
    with atomic_path(output_dir / "model.keras") as tmp:
        model.save(tmp)
    if (output_dir / "history.csv").is_file():
        plot_training_curves(output_dir / "history.csv", output_dir / "training_curves.png")

    metrics = write_evaluation(model, eval_data, split, settings, output_dir, masks, label_mode="majority")
    metrics["training"] = {**summary, "label_mode": settings["label_mode"], "model_selection": "last epoch"}
    if last is not None:
        metrics["last_weights_accuracy"] = last["accuracy"]
        metrics["last_weights_mean_class_accuracy"] = last["mean_class_accuracy"]
        metrics["training"]["model_selection"] = f"EMA of the weights (decay {settings['ema_decay']:g}); " \
                                                 f"the last step's weights in {LAST_WEIGHTS}"
    write_json(metrics, output_dir / "metrics.json")
    return metrics


LAST_WEIGHTS = "model-last.keras"  # with --ema-decay: the last step's weights (model.keras holds the EMA)


def build_model(settings, data, strategy, batches_per_epoch):
    """The compiled DSAN with its starting weights; RunError for a bad model flag or weights file."""
    with strategy.scope():
        try:
            model = build_dsan(**model_kwargs(settings, data.class_names))
        except ValueError as error:
            raise RunError(str(error)) from None
        if settings.get("backbone_weights"):
            load_backbone(model, settings["backbone_weights"])
        if settings.get("init_from"):
            initialise_from(model, load_trained_model(settings["init_from"]))
        optimiser = OptimiserSettings(
            learning_rate=settings["learning_rate"], schedule=settings["schedule"], decay_rate=settings["decay_rate"],
            warmup_epochs=settings["warmup_epochs"], weight_decay=settings["weight_decay"],
            centre_learning_rate=settings["centre_learning_rate"], centre_momentum=settings["centre_momentum"],
            sgd_scope=settings["sgd_scope"],
        )
        return compile_for_training(model, optimiser, batches_per_epoch, settings["epochs"])


def load_backbone(model, path):
    from dsan_tf.torch_import import assign_resnet18_weights, load_torch_state_dict

    try:
        assign_resnet18_weights(model, load_torch_state_dict(path))
    except (OSError, ImportError, ValueError, KeyError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise RunError(f"--backbone-weights {path}: {reason}") from None


def evaluate_only(settings):
    """Evaluate ``settings['weights']`` on the dataset; refuses a model trained for other classes.

    The output directory must not hold a training run: its config.json and metrics.json
    would be overwritten, and the run could no longer be resumed.
    """
    check_settings(settings, EVALUATION_LIMITS)
    subset_lists = read_subset_lists(settings.get("subset"))
    output_dir = check_output_dir(settings, input_paths(settings, subset_lists))
    with locked_run_directory(output_dir):
        if holds_training_run(output_dir):
            raise RunError(f"--output {output_dir} holds a training run; --eval-only would overwrite its "
                           "config.json and metrics.json: give --eval-only another --output")
        kind = folder_kind(output_dir)
        if kind is None:
            refuse_foreign(output_dir, "--eval-only")
        if kind not in ("empty", "evaluation"):
            raise RunError(f"--output {output_dir} holds {describe_kind(kind)}; give --eval-only another --output")
        model = load_trained_model(settings["weights"])
        data = load_data(settings)
        if model.class_names is not None and list(model.class_names) != list(data.class_names):
            raise RunError(
                f"{settings['weights']} was trained for classes {model.class_names}; "
                f"{settings['dataset']} has {list(data.class_names)}"
            )
        settings = {**settings, "image_size": model.settings["image_size"]}
        split = evaluation_split(data, settings.get("split"))
        masks = subset_masks(subset_lists, data.split(split))
        write_marker(output_dir, "evaluation", "train --eval-only")
        write_json({"settings": settings, "versions": versions(), "evaluation_split": split}, output_dir / "config.json")
        try:
            return write_evaluation(model, data, split, settings, output_dir, masks)
        except tf.errors.OpError:
            check_decodable(data.split(split), settings["image_size"])  # a DataError naming the file, if one is bad
            raise
