"""Every exit status the CLI documents has a test that fails when the status is gone (issue 34).

``DOCUMENTED`` lists the statuses and the test of each; ``test_every_documented_status_has_a_test``
reads the statuses the docs name (docs/errors.md, the `dsan` module's and the client's docstrings) so
that a new status cannot be documented without a test here.
"""

import ast
import re
import urllib.error
from pathlib import Path

import pytest

from dsan_tf import cli
from dsan_tf.cli import client, table4

ROOT = Path(__file__).resolve().parents[1]

DOCUMENTED = {
    0: ["test_success_is_0"],
    1: ["test_an_internal_error_is_1", "test_export_savedmodel_documents_1_for_a_user_error",
        "test_client_statuses"],
    2: ["test_a_user_error_is_2", "test_argument_errors_are_2", "test_a_group_without_its_subcommand_is_2",
        "test_client_statuses"],
    3: ["test_client_statuses"],
    4: ["test_client_statuses"],
    130: ["test_ctrl_c_is_130"],
}


def documented_statuses():
    """Numbers in the sentences of the docs that speak of exit statuses (or codes)."""
    texts = [(ROOT / "docs" / "errors.md").read_text(encoding="utf-8")]
    for module in ("dsan_tf/cli/__init__.py", "dsan_tf/cli/client.py"):
        texts.append(ast.get_docstring(ast.parse((ROOT / module).read_text(encoding="utf-8"))))
    found = set()
    for text in texts:
        for sentence in re.split(r"(?<=[.;])\s+", " ".join(text.split())):
            if re.search(r"\bexit\b", sentence, re.IGNORECASE):
                found |= {int(n) for n in re.findall(r"(?<![\w^.-])(\d{1,3})(?![\w^.])", sentence) if int(n) <= 255}
    return found


def test_every_documented_status_has_a_test():
    found = documented_statuses()
    assert {0, 1, 2, 3, 4, 130} <= found, found  # the parser still reads the docs
    missing = found - set(DOCUMENTED)
    assert not missing, f"exit statuses documented without a test in DOCUMENTED: {sorted(missing)}"
    names = set(globals())
    for status, tests in DOCUMENTED.items():
        for name in tests:
            assert name in names and callable(globals()[name]), (status, name)


def failing_table4(monkeypatch, exc):
    def run(args):
        raise exc

    monkeypatch.setattr(table4, "run", run)
    monkeypatch.delenv("DSAN_DEBUG", raising=False)


def test_success_is_0(capsys, monkeypatch):
    assert cli.main(["--version"]) == 0
    assert cli.main(["--help"]) == 0
    assert cli.main(["export", "--help"]) == 0
    monkeypatch.setattr(table4, "run", lambda args: None)
    assert cli.main(["table4", "."]) == 0


def test_an_internal_error_is_1(monkeypatch, capsys):
    failing_table4(monkeypatch, ZeroDivisionError("oops"))
    assert cli.main(["table4", "."]) == 1
    assert "internal error (ZeroDivisionError: oops)" in capsys.readouterr().err


def test_a_user_error_is_2(monkeypatch, capsys):
    from dsan_tf.data.errors import DataError

    failing_table4(monkeypatch, DataError("runs/a: no metrics.json"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: runs/a: no metrics.json\n"
    failing_table4(monkeypatch, FileNotFoundError(2, "No such file or directory", "runs/b"))
    assert cli.main(["table4", "."]) == 2


def test_ctrl_c_is_130(monkeypatch, capsys):
    failing_table4(monkeypatch, KeyboardInterrupt())
    assert cli.main(["table4", "."]) == 130
    assert capsys.readouterr().err.strip() == "dsan table4: interrupted"


def test_export_savedmodel_documents_1_for_a_user_error(monkeypatch, capsys):
    from dsan_tf.cli import export_savedmodel
    from dsan_tf.errors import UserError

    assert cli.COMMANDS["export savedmodel"].error_status == 1
    monkeypatch.setattr(export_savedmodel, "run", lambda args: (_ for _ in ()).throw(UserError("bad model")))
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.main(["export", "savedmodel", "--weights", "ferplus", "--output", "out", "--version", "1"]) == 1
    assert capsys.readouterr().err == "dsan export savedmodel: error: bad model\n"


def test_argument_errors_are_2(capsys):
    assert cli.main([]) == 2  # no command: the help, on stderr
    assert "commands:" in capsys.readouterr().err
    assert cli.main(["tabel4"]) == 2
    assert "did you mean 'table4'" in capsys.readouterr().err
    assert cli.main(["--nonsense", "table4"]) == 2
    assert cli.main(["export", "onnx"]) == 2
    assert "choose from savedmodel, tflite" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli.main(["table4", "--no-such-flag"])
    assert info.value.code == 2


def test_a_group_without_its_subcommand_is_2(capsys):
    """`dsan export` alone: the error line first, naming its commands, on stderr, exit 2 (with --help:
    the usage on stdout, exit 0)."""
    assert cli.main(["export"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.startswith("dsan export: error: ")
    assert "savedmodel" in captured.err and "tflite" in captured.err
    assert cli.main(["export", "-h"]) == 0
    assert capsys.readouterr().out.startswith("usage: dsan export")


class Reply:
    def __init__(self, body):
        self.body = body

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def read(self):
        return self.body


@pytest.mark.parametrize("answer, status, message", [
    (b'{"predictions": [{"class_id": 1, "class_name": "happy", "probabilities": [0.2, 0.8]}]}', client.EXIT_OK, None),
    (urllib.error.HTTPError("u", 500, "boom", {}, None), client.EXIT_SERVER, "rejected the request (HTTP 500)"),
    (urllib.error.HTTPError("u", 404, "nope", {}, None), client.EXIT_NOT_FOUND, "not found on the server"),
    (urllib.error.URLError(ConnectionRefusedError(111, "refused")), client.EXIT_UNREACHABLE, "connection refused"),
    (TimeoutError("timed out"), client.EXIT_UNREACHABLE, "cannot reach TF Serving"),
    (b'{"predictions": []}', client.EXIT_SERVER, "0 predictions for 1 images sent"),
    ("not an image", client.EXIT_INPUT, "not an image"),
])
def test_client_statuses(tmp_path, monkeypatch, capsys, answer, status, message):
    """The client's table: 0 success, 1 server error, 2 bad input file, 3 unreachable, 4 model unknown."""
    assert (client.EXIT_OK, client.EXIT_SERVER, client.EXIT_INPUT, client.EXIT_UNREACHABLE,
            client.EXIT_NOT_FOUND) == (0, 1, 2, 3, 4)
    from PIL import Image

    image = tmp_path / "face.png"
    if answer == "not an image":
        image.write_text("hello")
    else:
        Image.new("RGB", (40, 30), (90, 60, 30)).save(image)

    def urlopen(request, timeout=None):
        if isinstance(answer, bytes):
            return Reply(answer)
        raise answer

    monkeypatch.setattr(client.urllib.request, "urlopen", urlopen)
    monkeypatch.delenv("DSAN_DEBUG", raising=False)
    assert cli.main(["client", "--rest", "http://127.0.0.1:9", "--faces", str(image)]) == status
    err = capsys.readouterr().err
    if message is None:
        assert err == ""
    else:
        assert message in err and err.count("\n") == 1


# ---- round 7 blind mutants (issue 34)
def test_an_os_error_is_2_and_its_line_names_the_file(monkeypatch, capsys):
    """r7-io-os-error-line-drops-file: an OSError reaching the boundary is one line with the file the system
    named and its reason (written out by hand here), exit 2; without a file name, the reason alone."""
    failing_table4(monkeypatch, PermissionError(13, "Permission denied", "runs/a/table4.md"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: runs/a/table4.md: Permission denied\n"
    failing_table4(monkeypatch, OSError(28, "No space left on device"))
    assert cli.main(["table4", "."]) == 2
    assert capsys.readouterr().err == "dsan table4: error: No space left on device\n"
