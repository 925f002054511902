"""The README's Python examples run as written."""

import pathlib
import re

import pytest

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_readme_has_python_examples():
    assert len(_blocks()) >= 3


def test_readme_examples_run(capsys):
    pytest.importorskip("pandas")
    namespace = {}
    for block in _blocks():  # later blocks use names defined by earlier ones
        exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "demographic_parity_difference" in out
