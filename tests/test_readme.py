"""The outputs shown in README.md and docs/metrics.md are what the code prints.

A ```python block followed by a ```text block: the text block is the python block's
standard output. A ```console block: each ``$ fairfast ...`` command is run (through
``python -m fairfast.cli``) and the lines after it are its standard output; a ```text
block right after it is the last command's standard error. Blocks of
one document run in order in one namespace and one temporary working directory.
Outputs must match exactly, except numbers with decimals, which may differ by one
unit in their last digit (float noise across platforms).

Run ``python tests/test_readme.py`` to rewrite the outputs after a deliberate change.
"""

import contextlib
import io
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", ROOT / "docs" / "metrics.md", ROOT / "docs" / "batch.md",
        ROOT / "docs" / "model_selection.md"]
_BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.S)
_FLOAT = re.compile(r"-?\d+\.\d+")


def _blocks(path):
    """[(language, code, start, end)] of a markdown file's fenced blocks."""
    return [(m.group(1), m.group(2), m.start(2), m.end(2)) for m in _BLOCK.finditer(path.read_text())]


def _console(code, cwd):
    """[(command lines, expected output, stdout, stderr)] of a console block."""
    out, lines = [], code.splitlines()
    i = 0
    while i < len(lines):
        raw, command = [lines[i]], lines[i][2:]
        while command.endswith("\\"):
            i += 1
            raw.append(lines[i])
            command = command[:-1] + " " + lines[i].strip()
        i += 1
        expected = []
        while i < len(lines) and not lines[i].startswith("$ "):
            expected.append(lines[i])
            i += 1
        argv = shlex.split(command)
        assert argv[0] == "fairfast", command
        env = dict(os.environ, COLUMNS="100")
        result = subprocess.run([sys.executable, "-m", "fairfast.cli", *argv[1:]], capture_output=True, text=True,
                                cwd=cwd, timeout=300, env=env)
        assert result.returncode == 0, result.stderr
        out.append(("\n".join(raw), "\n".join(expected), result.stdout, result.stderr))
    return out


def run_document(path, cwd):
    """[(start, end, expected, actual)] for every output shown in ``path``."""
    blocks = _blocks(path)
    namespace, found = {}, []
    old = os.getcwd()
    os.chdir(cwd)
    try:
        for k, (lang, code, start, end) in enumerate(blocks):
            if lang == "python":
                buf = io.StringIO()
                with contextlib.redirect_stdout(buf):
                    exec(compile(code, str(path), "exec"), namespace)
                if k + 1 < len(blocks) and blocks[k + 1][0] == "text":
                    _, expected, s, e = blocks[k + 1]
                    found.append((s, e, expected, buf.getvalue()))
            elif lang == "console" and code.startswith("$ fairfast "):
                runs = _console(code, cwd)
                found.append((start, end, code, "".join(f"{c}\n{a}" for c, _, a, _ in runs)))
                if k + 1 < len(blocks) and blocks[k + 1][0] == "text":  # the last command's stderr
                    _, expected, s, e = blocks[k + 1]
                    found.append((s, e, expected, runs[-1][3]))
    finally:
        os.chdir(old)
    return found


def _normalise(text):
    return [line.rstrip() for line in text.rstrip("\n").splitlines()]


def assert_same_output(expected, actual, where):
    exp, act = _normalise(expected), _normalise(actual)
    assert len(exp) == len(act), f"{where}: {len(act)} lines printed, {len(exp)} shown\n{actual}"
    for n, (e, a) in enumerate(zip(exp, act)):
        if e == a:
            continue
        assert _FLOAT.split(e) == _FLOAT.split(a), f"{where}, line {n + 1}:\n shown:   {e}\n printed: {a}"
        for x, y in zip(_FLOAT.findall(e), _FLOAT.findall(a)):
            digits = len(x.split(".")[1])
            assert len(y.split(".")[1]) == digits and abs(float(x) - float(y)) <= 1.01 * 10.0**-digits, \
                f"{where}, line {n + 1}: {x} shown, {y} printed"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_shown_outputs_are_printed(doc, tmp_path):
    pytest.importorskip("matplotlib")
    found = run_document(doc, tmp_path)
    assert found, f"{doc.name} shows no output"
    for start, _, expected, actual in found:
        line = doc.read_text()[:start].count("\n") + 1
        assert_same_output(expected, actual, f"{doc.name}:{line}")


def test_the_comparison_allows_only_float_noise():
    assert_same_output("a 0.355 [0.312, 0.399]\n", "a 0.356 [0.312, 0.399]", "x")
    for wrong in ("a 0.357 [0.312, 0.399]", "b 0.355 [0.312, 0.399]", "a 0.3550 [0.312, 0.399]",
                  "a 0.355 [0.312, 0.399]\nextra", "a 0.355  [0.312, 0.399]"):
        with pytest.raises(AssertionError):
            assert_same_output("a 0.355 [0.312, 0.399]", wrong, "x")
    with pytest.raises(AssertionError):
        assert_same_output("count 6172", "count 6173", "x")


def test_readme_keeps_its_set_up_commands():
    text = (ROOT / "README.md").read_text()
    assert "python3 -m venv .venv && .venv/bin/pip install . && .venv/bin/fairfast demo" in text
    assert 'python3 -m venv .venv && .venv/bin/pip install ".[test]" && .venv/bin/pytest tests --pyargs fairfast' \
        in text


def _rewrite(doc, cwd):
    text = doc.read_text()
    for start, end, _, actual in sorted(run_document(doc, cwd), reverse=True):
        text = text[:start] + actual.rstrip("\n").replace("\r", "") + "\n" + text[end:]
    doc.write_text(text)


if __name__ == "__main__":  # pragma: no cover - a maintenance tool
    import tempfile

    for doc in DOCS:
        with tempfile.TemporaryDirectory() as tmp:
            _rewrite(doc, tmp)
        print(f"rewrote the outputs of {doc}")
