"""Every file a command writes or deletes goes through the output policy (dsan_tf/outputs.py):
the AST of every module of dsan_tf is checked (tests/write_rule.py states the rule), and the
checker is shown to catch a command changed to bypass the policy."""

from pathlib import Path

import pytest
from script_loader import ROOT
from write_rule import check_package, check_source

# Library functions that write where their caller points: each names the claim that covers it.
RUN_FOLDER = "inside the run folder that locked_run_directory holds and start_or_resume/evaluate_only checked"
ALLOWED = {
    ("dsan_tf/runner.py", "locked_run_directory"): "creates / removes the run folder while holding its lock",
    ("dsan_tf/runner.py", "start_or_resume"): RUN_FOLDER,
    ("dsan_tf/runner.py", "write_evaluation"): RUN_FOLDER,
    ("dsan_tf/runner.py", "_train_and_evaluate"): RUN_FOLDER,
    ("dsan_tf/runner.py", "evaluate_only"): RUN_FOLDER,
    ("dsan_tf/runner.py", "decoded_image_cache"): "the run's own image cache (train --cache-dir or the run folder)",
    ("dsan_tf/training.py", "clean_checkpoint_temporaries"): RUN_FOLDER + " (a killed checkpoint's temporaries)",
    ("dsan_tf/training.py", "TrainingState._record_running"): RUN_FOLDER,
    ("dsan_tf/training.py", "fit_resumable"): RUN_FOLDER + " (checkpoints)",
    ("dsan_tf/data/pipeline.py", "_remove_cache"): "a half-written tf.data cache of the run's (its prefix)",
    ("dsan_tf/plots.py", "_save"): "figures of a run folder (runner) or a policy temporary (compare)",
    ("dsan_tf/analysis.py", "_save"): "a policy temporary: analyse() publishes every figure",
    ("dsan_tf/cli/calibrate.py", "_plot"): "a policy temporary (run: with policy.publish(...) as tmp)",
    ("dsan_tf/inference.py", "save_rgb"): "a policy temporary (predict --annotate publishes each copy)",
    ("dsan_tf/realtime.py", "make_video"): "a synthetic benchmark video in its caller's TemporaryDirectory",
    ("dsan_tf/realtime.py", "make_scene_video"): "a synthetic benchmark video in its caller's TemporaryDirectory",
    ("dsan_tf/explain.py", "save_grid"): "a policy temporary (dsan explain: with policy.publish(...) as tmp)",
    ("dsan_tf/data/align.py", "align_folder"): "appends to the ledger inside --output, claimed by dsan align",
    ("dsan_tf/data/align.py", "_write_png_atomic"): "crops inside --output, claimed by dsan align",
    ("dsan_tf/data/tfrecords.py", "write_tfrecords"): "inside --output, claimed (kind tfrecords) by dsan tfrecords",
    ("dsan_tf/data/tfrecords.py", "_clear_split"): "the split's own files (exact names) in the claimed --output",
    ("dsan_tf/data/tfrecords.py", "_write_shard"): "inside --output, claimed by dsan tfrecords",
    ("dsan_tf/data/tfrecords.py", "_write_json_atomic"): "inside --output, claimed by dsan tfrecords",
    ("dsan_tf/export.py", "export_saved_model"): "a version folder: refused if it exists (unless overwrite), "
                                                 "locked, published by a no-replace rename (atomic_dir)",
    ("dsan_tf/export.py", "write_warmup_file"): "inside export_saved_model's temporary version folder",
    ("dsan_tf/export.py", "update_model_config"): "Python API; dsan export savedmodel publishes through the policy",
    ("dsan_tf/export.py", "write_batching_parameters"): "Python API; the command publishes through the policy",
    ("dsan_tf/pretrained.py", "pack"): "the folder ship got from OutputPolicy.publish_folder",
}
# Functions known to bypass the policy (a to-do list; empty: none does).
KNOWN_BYPASSES = {}  # none: every command publishes through the policy


def test_every_write_of_dsan_tf_goes_through_the_output_policy():
    findings, stale = check_package(ROOT, {**ALLOWED, **KNOWN_BYPASSES})
    assert not findings, "write primitives outside the output policy (dsan_tf/outputs.py):\n" + "\n".join(
        map(str, findings)) + "\nwrite through `with policy.publish(path) as tmp` (or publish_folder), or list the " \
        "function in ALLOWED with the claim that covers it"
    stale = [key for key in stale if key in ALLOWED]  # a fixed known bypass may simply be dropped from its list
    assert not stale, f"ALLOWED lists functions that no longer write: {stale}"


BYPASSES = {
    "open for writing": "def run(args):\n    with open(args.output, 'w') as fh:\n        fh.write('x')\n",
    "open, mode as keyword": "def run(args):\n    open(args.output, mode='ab')\n",
    "Path.write_text": "def run(args):\n    Path(args.output).write_text('x')\n",
    "Path.open for writing": "def run(args):\n    args.output.open('w')\n",
    "rmtree": "def run(args):\n    shutil.rmtree(args.out)\n",
    "copyfile into the output": "def run(args):\n    shutil.copyfile(src, args.out / 'a.png')\n",
    "os.replace": "def run(args):\n    os.replace(tmp, args.out)\n",
    "unlink": "def run(args):\n    (args.out / 'ablation.json').unlink()\n",
    "to_csv": "def run(args):\n    df.to_csv(args.csv, index=False)\n",
    "np.save": "def run(args):\n    np.save(args.out, x)\n",
    "savefig": "def run(args):\n    fig.savefig(args.out / 'a.png')\n",
    "model.save": "def run(args):\n    model.save(args.save)\n",
    "TFRecordWriter": "def run(args):\n    with tf.io.TFRecordWriter(str(args.out)) as w:\n        pass\n",
    "cv2.imwrite": "def run(args):\n    cv2.imwrite(str(args.out), image)\n",
    "atomic_path on an unclaimed path": "def run(args):\n    with atomic_path(args.csv) as tmp:\n"
                                        "        df.to_csv(tmp)\n",
    "write_json helper": "def run(args):\n    write_json(rows, args.output / 'ablation.json')\n",
    "derived through a variable": "def run(args):\n    target = args.out / 'x'\n    Path(target).write_bytes(b'')\n",
    "in a nested function": "def run(args):\n    def save():\n        Image.fromarray(a).save(args.out)\n"
                            "    save()\n",
    "in a lambda": "def run(args):\n    go = lambda: os.remove(args.out)\n",
}


@pytest.mark.parametrize("case", sorted(BYPASSES))
def test_the_checker_catches_a_bypass(case):
    assert len(check_source(BYPASSES[case])) == 1, check_source(BYPASSES[case])


THROUGH_THE_POLICY = {
    "publish": "def run(args, policy):\n    with policy.publish(args.output) as tmp, open(tmp, 'w') as fh:\n"
               "        fh.write('x')\n",
    "publish, derived": "def run(args, policy):\n    with policy.publish(args.output) as tmp:\n"
                        "        Path(tmp).write_text('x')\n        df.to_csv(str(tmp))\n",
    "publish_folder": "def run(args, policy):\n    with policy.publish_folder(args.out, kind='k') as staging:\n"
                      "        dst = Path(staging) / 'train'\n        dst.mkdir()\n"
                      "        shutil.copyfile(src, dst / 'a.png')\n",
    "enter_context": "def run(args, policy, stack):\n    tmp = stack.enter_context(policy.publish(args.out))\n"
                     "    np.save(tmp, x)\n",
    "a claimed folder": "def run(args, policy):\n    folder = policy.claim_and_mark(args.out, kind='run')\n"
                        "    (folder / 'history.csv').unlink(missing_ok=True)\n",
    "scratch": "def run(args):\n    with tempfile.TemporaryDirectory() as tmp:\n"
               "        Path(tmp, 'x').write_text('x')\n    buffer = io.BytesIO()\n"
               "    image.save(buffer, format='PNG')\n",
    "reading": "def run(args):\n    open(args.input).read()\n    Image.open(args.input)\n"
               "    args.input.open()\n    text.replace('a', 'b')\n    df.rename(columns={})\n",
    "stdout": "def run(args):\n    df.to_csv(sys.stdout)\n",
}


@pytest.mark.parametrize("case", sorted(THROUGH_THE_POLICY))
def test_the_checker_accepts_writes_through_the_policy(case):
    assert check_source(THROUGH_THE_POLICY[case]) == []


def test_a_command_changed_to_bypass_the_policy_fails_the_rule():
    """simulate-centres' --csv written with atomic_path (issue 31's case 3) instead of published."""
    path = ROOT / "dsan_tf" / "cli" / "simulate_centres.py"
    source = path.read_text(encoding="utf-8")
    assert check_source(source, "simulate_centres.py") == []
    bypass = source.replace("with policy.publish(args.csv) as tmp:", "with atomic_path(args.csv) as tmp:")
    assert bypass != source
    (finding,) = check_source(bypass, "simulate_centres.py")
    assert finding.function == "_run" and "atomic_path(args.csv)" in finding.call


def test_the_policy_module_has_no_import_of_io_utils():
    """No import circle: outputs.py is the base; io_utils.py imports it, never the reverse."""
    import ast

    tree = ast.parse((ROOT / "dsan_tf" / "outputs.py").read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)} | {
        alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not {name for name in imported if name and name.startswith("dsan_tf") and name != "dsan_tf.errors"}


# ---- round 6 blind mutants (issue 34)


def test_check_output_path_expects_a_file_unless_told_a_folder(tmp_path):
    """r6-io_utils-check-output-path-folder-by-default: without folder=True the path is a file's (export checks
    its models.config so): an existing file passes and an existing folder is refused; folder=True the reverse."""
    from dsan_tf.io_utils import OutputError, check_output_path

    existing_file, existing_folder = tmp_path / "models.config", tmp_path / "models"
    existing_file.write_text("model_config_list {}\n")
    existing_folder.mkdir()
    assert check_output_path(existing_file) == existing_file
    with pytest.raises(OutputError, match="is a folder; expected a file name"):
        check_output_path(existing_folder)
    assert check_output_path(existing_folder, folder=True) == existing_folder
    with pytest.raises(OutputError, match="is a file; expected a folder"):
        check_output_path(existing_file, folder=True)
