"""Small checks that give modules without a dedicated test a way to fail (issue 34: every module of
dsan_tf/ under the mutation check). Expected values are written out or computed independently
(finite differences, literal tables)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from dsan_tf import cli
from script_loader import ROOT


def test_python_m_dsan_tf_returns_the_commands_exit_status():
    env_python = [sys.executable, "-m", "dsan_tf"]
    bad = subprocess.run([*env_python, "no-such-command"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "unknown command 'no-such-command'" in bad.stderr
    ok = subprocess.run([*env_python, "--version"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert ok.returncode == 0 and ok.stdout.startswith("dsan_tf ")


@pytest.mark.parametrize("text, number", [("1", 1), (" 7 ", 7), (str(2 ** 63 - 1), 2 ** 63 - 1)])
def test_serving_versions_from_1_to_int64_are_accepted(text, number):
    from dsan_tf.serving_version import check_version

    assert check_version(text) == number


@pytest.mark.parametrize("text", ["0", "-1", str(2 ** 63), "x", "1.5", ""])
def test_other_serving_versions_are_refused(text):
    from dsan_tf.serving_version import check_version

    with pytest.raises(ValueError, match="version must be a positive integer"):
        check_version(text)


@pytest.mark.parametrize("name, image", [("a.JPG", True), ("b.WebP", True), ("c.gif", True), ("d.jpeg", True),
                                         ("e.txt", False), ("f.jpg.txt", False), ("jpg", False)])
def test_image_names_match_the_suffix_list_whatever_the_case(name, image):
    from dsan_tf.data.images import is_image_name

    assert is_image_name(name) is image


def l_ccs(centres):
    """Eq. 5 written out: the sum over ordered pairs i != j of (cos(c_i, c_j) + 1)."""
    total = 0.0
    for i in range(len(centres)):
        for j in range(len(centres)):
            if i != j:
                a, b = centres[i], centres[j]
                total += a @ b / (np.linalg.norm(a) * np.linalg.norm(b)) + 1.0
    return total


def test_the_separation_gradient_is_the_finite_difference_of_l_ccs():
    from dsan_tf.cli.simulate_centres import separation_gradient

    centres = np.random.default_rng(3).normal(size=(4, 5)) * [[1.0], [2.0], [0.5], [3.0]]
    numeric = np.zeros_like(centres)
    step = 1e-6
    for index in np.ndindex(centres.shape):
        up, down = centres.copy(), centres.copy()
        up[index] += step
        down[index] -= step
        numeric[index] = (l_ccs(up) - l_ccs(down)) / (2 * step)
    np.testing.assert_allclose(separation_gradient(centres), numeric, atol=1e-6)


def test_zero_attention_share_and_gate_stats_of_an_absent_class(capsys):
    from dsan_tf.analysis import lfa_weight_stats, zero_attention_share

    attention = np.array([[0.0, 2.0, 0.0, 0.0], [1.0, 1.0, 0.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    labels = np.array([2, 0, 2])
    share = zero_attention_share(attention, labels, 4)
    assert share["per_class"] == [pytest.approx(0.25), None, pytest.approx((0.75 + 1.0) / 2), None]
    assert share["counts"] == [1, 0, 2, 0]
    stats = lfa_weight_stats(np.array([[0.1, 0.9], [0.5, 0.5], [0.3, 0.7]]), labels, 4)
    assert stats["per_class"][2]["mean"] == pytest.approx([0.2, 0.8]) and stats["per_class"][1] is None


def test_calibrate_apply_and_save_go_together(tmp_path, capsys):
    model = tmp_path / "m.keras"
    model.write_bytes(b"x")
    for extra in (["--apply", "0.5"], ["--save", str(tmp_path / "out.keras")]):
        with pytest.raises(SystemExit) as info:
            cli.main(["calibrate", "--weights", str(model), "--data-dir", str(tmp_path), *extra])
        assert info.value.code == 2
        assert "--apply TAU and --save FILE go together" in capsys.readouterr().err


def test_train_eval_only_needs_weights_and_resume_needs_output(tmp_path, capsys):
    for argv, message in ((["--eval-only"], "--eval-only needs --weights"), (["--resume"], "--resume needs --output")):
        with pytest.raises(SystemExit) as info:
            cli.main(["train", "--dataset", "ferplus", "--data-dir", str(tmp_path), *argv])
        assert info.value.code == 2 and message in capsys.readouterr().err


def test_evaluation_reports_on_test_then_valid_or_the_split_asked_for():
    from types import SimpleNamespace

    from dsan_tf.runner import RunError, evaluation_split

    assert evaluation_split(SimpleNamespace(splits=("train", "valid", "test"))) == "test"
    assert evaluation_split(SimpleNamespace(splits=("train", "valid"))) == "valid"
    assert evaluation_split(SimpleNamespace(splits=("train", "valid", "test")), "valid") == "valid"
    with pytest.raises(RunError, match="no test or valid split"):
        evaluation_split(SimpleNamespace(splits=("train",)))
    with pytest.raises(RunError, match="split 'dev' not in the dataset"):
        evaluation_split(SimpleNamespace(splits=("train", "test")), "dev")


def test_the_demo_photo_is_the_bundled_colour_face():
    from PIL import Image

    from dsan_tf.demo import demo_photo

    path = demo_photo()
    assert path.is_file() and path.name == "astronaut.jpg"
    with Image.open(path) as image:
        assert image.size == (512, 512) and image.mode == "RGB"


def test_progress_bars_count_the_last_partial_batch():
    from dsan_tf.cli.progress import Batches

    assert Batches([], total_images=10, batch_size=4, desc="x").total == 3  # 4 + 4 + 2
    assert Batches([], total_images=8, batch_size=4, desc="x").total == 2
    assert list(Batches([1, 2, 3], total_images=3, batch_size=1, desc="x", disable=True)) == [1, 2, 3]


def test_bench_pipeline_rates_come_from_the_median_step():
    from dsan_tf.cli.bench_pipeline import _median_rate

    assert _median_rate(8, [1.0, 2.0, 10.0]) == 4.0  # not 8 / mean (2.46) nor 8 / fastest (8)
    assert _median_rate(6, [3.0, 1.0, 2.0, 4.0]) == pytest.approx(6 / 2.5)


def test_quiet_mode_silences_tensorflows_log_levels_unless_set():
    code = ("import os; os.environ.pop('TF_CPP_MIN_LOG_LEVEL', None); from dsan_tf import quiet; quiet.install(); "
            "print(os.environ['TF_CPP_MIN_LOG_LEVEL'], os.environ['GRPC_VERBOSITY'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.stdout.split() == ["3", "ERROR"], out.stderr  # 3: no INFO, WARNING or ERROR lines from C++


def test_the_paper_preset_is_the_papers_training_setup():
    """The paper's setup as ../shared/DESIGN.md records it: Adam 1e-3, batch 128, 40 epochs, 224 px, alpha 0.4,
    lambda1 = lambda2 = 0.01, F = 4 chunks, r = 2."""
    from dsan_tf.presets import PAPER

    assert {k: PAPER[k] for k in ("image_size", "batch_size", "epochs", "learning_rate", "alpha", "lambda1",
                                  "lambda2", "split_num", "reduction")} == {
        "image_size": 224, "batch_size": 128, "epochs": 40, "learning_rate": 1e-3, "alpha": 0.4, "lambda1": 0.01,
        "lambda2": 0.01, "split_num": 4, "reduction": 2}


def test_predict_show_goes_with_camera(capsys):
    from dsan_tf.demo import demo_photo

    with pytest.raises(SystemExit) as info:
        cli.main(["predict", str(demo_photo()), "--show"])
    assert info.value.code == 2 and "--show goes with --camera" in capsys.readouterr().err


def test_export_savedmodel_refuses_an_existing_version_before_loading_anything(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    model = tmp_path / "m.keras"
    model.write_bytes(b"not loaded")
    (tmp_path / "served" / "1").mkdir(parents=True)
    (tmp_path / "served" / "1" / "saved_model.pb").write_bytes(b"someone's export")
    status = cli.main(["export", "savedmodel", "--weights", str(model), "--output", str(tmp_path / "served"),
                       "--version", "1"])
    assert status == 1 and "already exists; pass --overwrite" in capsys.readouterr().err
    assert (tmp_path / "served" / "1" / "saved_model.pb").read_bytes() == b"someone's export"


def test_make_sample_picks_per_class_majority_rows_and_refuses_too_few():
    from dsan_tf.cli.make_sample import choose
    from dsan_tf.errors import UserError

    def row(name, winner):  # 10 votes: 8 for the winner, 2 for the next class (a clear majority)
        votes = [0] * 10
        votes[winner], votes[(winner + 1) % 8] = 8, 2
        return ",".join([name, '"(0, 0, 48, 48)"', *map(str, votes)])

    lines = [row(f"c{k}_{i}.png", k) for k in range(8) for i in range(2)]
    lines.append(",".join(["unknown.png", '"(0, 0, 48, 48)"', *map(str, [0] * 8 + [10, 0])]))
    picked = choose(lines, per_class=2, dropped=1, rng=np.random.default_rng(0))
    assert picked == list(range(17))  # both rows of every class and the one dropped row
    with pytest.raises(UserError, match="class 0 has only 2 rows"):
        choose(lines, per_class=3, dropped=0, rng=np.random.default_rng(0))


def test_data_summary_says_when_it_reads_the_embedded_sample(capsys, tmp_path):
    assert cli.main(["data-summary", "--dataset", "ferplus", "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "(no --data-dir: using the embedded FERPlus sample)\n"
    assert cli.main(["data-summary", "--dataset", "rafdb", "--data-dir", str(tmp_path)]) == 2
    assert "embedded" not in capsys.readouterr().err


def test_align_refuses_a_missing_input_folder_before_making_its_output(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    with pytest.raises(SystemExit) as refused:  # by the flag's validator, before the command runs
        cli.main(["align", "--input", str(tmp_path / "none"), "--output", str(tmp_path / "out"), "--no-progress"])
    assert refused.value.code == 2
    assert f"--input: {tmp_path / 'none'}: no such folder" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()  # nothing made for a refused run


# round 2 blind mutants (issue 34)
def test_timestamped_start_up_lines_are_dropped_and_other_lines_kept(capfd):
    """r2-quiet-noise-only-at-line-start: TensorFlow's C++ lines start with a date and a level; they are
    noise wherever the known words stand in the line. A line that is not noise is written back."""
    import os

    from dsan_tf.quiet import captured_stderr_fd

    with captured_stderr_fd():
        os.write(2, b"2026-12-07 05:00:00.123456: I external/local_xla/xla/tsl/cuda/cudart_stub.cc:32] Could not "
                    b"find cuda drivers on your machine, GPU will not be used.\n"
                    b"2026-12-07 05:00:00.2: I tensorflow/core/platform/cpu_feature_guard.cc:210] This TensorFlow "
                    b"binary is optimized to use available CPU instructions\n"
                    b"E0000 00:00:1765083600.1 123 cuda_executor.cc:1228] failed call to cuInit: UNKNOWN ERROR\n"
                    b"my own warning: photo.png has no face\n")
    assert capfd.readouterr().err == "my own warning: photo.png has no face\n"


# ---- lines its own tests never ran (issue 34): dsan_tf/quiet.py
NOISY = b"I0000 00:00:1.2 10 cudart_stub.cc:31] Could not find cuda drivers on your machine\n"


def test_install_sets_what_the_user_did_not_once_and_wraps_the_first_tensorflow_import(monkeypatch):
    """install(): TF_CPP_MIN_LOG_LEVEL=3 and GRPC_VERBOSITY=ERROR unless set (a user's OPENCV_LOG_LEVEL is
    kept), TensorFlow/absl/h5py loggers at ERROR, Keras' shuffle warning hidden, one _QuietImport first in
    sys.meta_path while TensorFlow is not imported; a second call changes nothing."""
    import logging
    import warnings

    from dsan_tf import quiet

    monkeypatch.setattr(quiet, "_installed", False)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.delitem(sys.modules, "tensorflow")  # restored (or removed again) at teardown
    for name in ("TF_CPP_MIN_LOG_LEVEL", "GRPC_VERBOSITY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENCV_LOG_LEVEL", "INFO")
    for name in ("tensorflow", "absl", "h5py"):
        monkeypatch.setattr(logging.getLogger(name), "level", logging.NOTSET)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        quiet.install()
        warnings.warn("`shuffle=True` was passed, but will be ignored")
        warnings.warn("a warning of the user's own")
    assert [str(w.message) for w in caught] == ["a warning of the user's own"]
    assert (os.environ["TF_CPP_MIN_LOG_LEVEL"], os.environ["GRPC_VERBOSITY"], os.environ["OPENCV_LOG_LEVEL"]) == \
        ("3", "ERROR", "INFO")
    assert [logging.getLogger(n).level for n in ("tensorflow", "absl", "h5py")] == [logging.ERROR] * 3
    assert isinstance(sys.meta_path[0], quiet._QuietImport)
    assert sum(isinstance(f, quiet._QuietImport) for f in sys.meta_path) == 1
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")
    quiet.install()  # idempotent: nothing set again
    assert "TF_CPP_MIN_LOG_LEVEL" not in os.environ
    monkeypatch.setattr(quiet, "_installed", False)
    quiet.install()  # installed again (the flag reset): the finder is not put in twice
    assert sum(isinstance(f, quiet._QuietImport) for f in sys.meta_path) == 1


def test_install_adds_no_finder_once_tensorflow_is_imported(monkeypatch):
    import types

    from dsan_tf import quiet

    monkeypatch.setattr(quiet, "_installed", False)
    monkeypatch.setattr(sys, "meta_path", list(sys.meta_path))
    monkeypatch.setitem(sys.modules, "tensorflow", types.ModuleType("tensorflow"))
    before = list(sys.meta_path)
    quiet.install()
    assert sys.meta_path == before


def _fake_module_spec(name, exec_module):
    import importlib.abc
    import importlib.machinery

    class Inner(importlib.abc.Loader):
        def create_module(self, spec):
            return None

        def exec_module(self, module):
            exec_module(module)

        def is_package(self, fullname):
            return fullname == name

    return importlib.machinery.ModuleSpec(name, Inner())


def test_the_quiet_finder_answers_only_for_tensorflow_once_and_wraps_its_loader(monkeypatch):
    import importlib.util

    from dsan_tf import quiet

    spec = _fake_module_spec("tensorflow", lambda module: None)
    finder = quiet._QuietImport()
    monkeypatch.setattr(sys, "meta_path", [finder, *sys.meta_path])
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec if name == "tensorflow" else None)
    assert finder.find_spec("numpy") is None and sys.meta_path[0] is finder
    found = finder.find_spec("tensorflow")
    assert finder not in sys.meta_path  # once
    assert found is spec and isinstance(found.loader, quiet._QuietLoader)
    assert found.loader.is_package("tensorflow") is True  # the other loader methods are the wrapped one's
    finder = quiet._QuietImport()
    sys.meta_path.insert(0, finder)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert finder.find_spec("tensorflow") is None and finder not in sys.meta_path


def test_the_quiet_loader_drops_start_up_noise_and_shows_everything_of_a_failed_import(monkeypatch, capfd):
    import importlib.util
    import logging

    from dsan_tf import quiet

    def loads(module):
        os.write(2, NOISY + b"a line TensorFlow should not hide\n")
        module.value = 42

    spec = _fake_module_spec("fake_tf", loads)
    spec.loader = quiet._QuietLoader(spec.loader)
    monkeypatch.setattr(logging.getLogger("tensorflow"), "level", logging.NOTSET)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.value == 42 and logging.getLogger("tensorflow").level == logging.ERROR
    assert capfd.readouterr().err == "a line TensorFlow should not hide\n"

    def fails(module):
        os.write(2, NOISY + b"\n")
        raise ImportError("libtensorflow_cc.so.2: cannot open shared object file")

    spec = _fake_module_spec("fake_tf", fails)
    spec.loader = quiet._QuietLoader(spec.loader)
    with pytest.raises(ImportError, match="libtensorflow_cc"):
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
    assert capfd.readouterr().err == NOISY.decode() + "\n"  # every line, the blank one too


def test_after_import_sets_absl_to_errors_and_survives_an_absl_that_refuses(monkeypatch):
    import types

    from dsan_tf import quiet

    set_to = []
    absl_logging = types.SimpleNamespace(ERROR="error-level", set_verbosity=set_to.append)
    monkeypatch.setitem(sys.modules, "absl.logging", absl_logging)
    quiet._after_import()
    assert set_to == ["error-level"]

    def refuses(level):
        raise RuntimeError("absl not initialised")

    absl_logging.set_verbosity = refuses
    quiet._after_import()  # only a log level: no error
    monkeypatch.setitem(sys.modules, "absl.logging", None)  # absl not imported: nothing to set
    quiet._after_import()


def _fake_tensorflow(monkeypatch, devices):
    import types

    def exec_module(module):
        module.config = types.SimpleNamespace(list_physical_devices=devices)

    spec = _fake_module_spec("tensorflow", exec_module)

    class Finder:
        def find_spec(self, fullname, path=None, target=None):
            return spec if fullname == "tensorflow" else None

    monkeypatch.setitem(sys.modules, "tensorflow", None)
    monkeypatch.delitem(sys.modules, "tensorflow")  # restored (or removed again) at teardown
    monkeypatch.setattr(sys, "meta_path", [Finder(), *sys.meta_path])
    monkeypatch.delenv("DSAN_VERBOSE", raising=False)


def test_import_tensorflow_quietly_drops_the_noise_of_the_import_and_of_the_platforms(monkeypatch, capfd):
    """The Python API's quiet import: list_physical_devices runs inside the capture (cuInit's line comes from
    there); a line that is not noise is written back; with DSAN_VERBOSE nothing is imported."""
    from dsan_tf import quiet

    def devices():
        os.write(2, b"E0000 cuda_executor.cc:1228] failed call to cuInit: UNKNOWN ERROR\nmy own line\n")
        return []

    _fake_tensorflow(monkeypatch, devices)
    monkeypatch.setenv("DSAN_VERBOSE", "1")
    quiet.import_tensorflow_quietly()
    assert "tensorflow" not in sys.modules
    monkeypatch.delenv("DSAN_VERBOSE")
    quiet.import_tensorflow_quietly()
    assert sys.modules["tensorflow"].config.list_physical_devices is devices
    assert capfd.readouterr().err == "my own line\n"


def test_a_failed_quiet_import_of_tensorflow_shows_everything_it_printed(monkeypatch, capfd):
    from dsan_tf import quiet

    def devices():
        os.write(2, NOISY)
        raise RuntimeError("no platform")

    _fake_tensorflow(monkeypatch, devices)
    with pytest.raises(RuntimeError, match="no platform"):
        quiet.import_tensorflow_quietly()
    assert capfd.readouterr().err == NOISY.decode()


def test_without_a_real_fd_2_nothing_is_captured_and_blank_lines_are_dropped(monkeypatch, capfd):
    """captured_stderr_fd: where fd 2 cannot be duplicated, the block writes straight through (noise too);
    with a capture, blank lines and noise are dropped and a custom noise pattern replaces the default."""
    import re

    from dsan_tf import quiet

    def no_dup(fd):
        raise OSError(9, "Bad file descriptor")

    with monkeypatch.context() as patched:
        patched.setattr(quiet.os, "dup", no_dup)
        with quiet.captured_stderr_fd() as captured:
            os.write(2, NOISY)
        assert captured.saved is None and captured.file is None
    assert capfd.readouterr().err == NOISY.decode()
    with quiet.captured_stderr_fd(noise=re.compile("^secret")):
        os.write(2, b"\n   \nsecret token\n" + NOISY)
    assert capfd.readouterr().err == NOISY.decode()
    with quiet.captured_stderr_fd():
        os.write(2, NOISY + b"\n")
    assert capfd.readouterr().err == ""  # only noise: not even an empty line
