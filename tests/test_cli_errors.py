"""Bad input: one clear line naming the file and the fix, a non-zero exit, never a traceback."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from cli import app

from . import bad_inputs
from .conftest import UOL

runner = CliRunner()


def _file(path, data: bytes):
    path.write_bytes(data)
    return path


def _run(*args):
    result = runner.invoke(app, list(map(str, args)))
    return result.exit_code, result.output, result.exception


def _assert_clean_error(code, output, exc, *needles):
    assert code != 0
    assert "Traceback" not in output
    assert exc is None or isinstance(exc, SystemExit)
    lines = [ln for ln in output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    for n in needles:
        assert n in lines[0], (n, lines[0])


@pytest.mark.parametrize(
    "make, needles",
    [
        (lambda p: p / "missing.pdf", ["missing.pdf", "file not found"]),
        (lambda p: _file(p / "notes.xlsx", b"PK\x03\x04"), ["notes.xlsx", "unsupported file type '.xlsx'", "Convert it"]),
        (lambda p: bad_inputs.corrupt_pdf(p / "corrupt.pdf"), ["corrupt.pdf", "corrupt PDF", "Re-export"]),
        (lambda p: _file(p / "fake.pdf", b"hello"), ["fake.pdf", "is not a PDF"]),
        (lambda p: bad_inputs.encrypted_pdf(p / "locked.pdf"), ["locked.pdf", "encrypted", "unprotected copy"]),
        (lambda p: bad_inputs.blank_pdf(p / "blank.pdf"), ["blank.pdf", "empty"]),
        (lambda p: _file(p / "empty.txt", b""), ["empty.txt", "empty"]),
        (lambda p: _file(p / "blank.md", b"\n\n   \n"), ["blank.md", "empty"]),
    ],
    ids=["missing", "unsupported", "corrupt", "not-pdf", "encrypted", "blank-pdf", "empty-txt", "blank-md"],
)
def test_bad_submission(tmp_path, make, needles):
    path = make(tmp_path)
    _assert_clean_error(*_run("check", path, "-q"), *needles)


def test_image_only_pdf_with_ocr_never(tmp_path):
    """With OCR switched off, a scanned PDF is refused as before (tests/test_ocr.py reads it by OCR)."""
    path = bad_inputs.image_only_pdf(tmp_path / "scan.pdf")
    _assert_clean_error(*_run("check", path, "-q", "--ocr", "never"), "scan.pdf", "has no text layer (scanned images only)", "Run OCR first")


def test_unknown_framework_id():
    _assert_clean_error(*_run("check", UOL, "--framework", "concordat-2018", "-q"), "concordat-2018", "unknown framework id", "concordat-2019")


def test_invalid_framework_yaml(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("id: mine\nname: Mine\nindicators:\n  - id: A\n    text: 'unclosed\n", encoding="utf-8")
    _assert_clean_error(*_run("check", UOL, "--framework", bad, "-q"), "mine.yaml", "invalid YAML")
    _assert_clean_error(*_run("frameworks", "validate", bad), "mine.yaml", "invalid YAML")


def test_validate_and_show_good_framework():
    code, out, _ = _run("frameworks", "show", "aua-cpd")
    assert code == 0 and "AUA9  Achieving through others" in out
    code, out, _ = _run("frameworks", "list")
    assert code == 0 and "concordat-2019" in out
