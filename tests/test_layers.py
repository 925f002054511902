"""The package's layers: imports only point down, checked by import-linter.

The contracts live in pyproject.toml ([tool.importlinter]); docs/architecture.md draws
the layers they describe.
"""

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"


def _lint_imports(config, tmp_path):
    exe = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if exe is None:  # pragma: no cover - import-linter is a test dependency
        pytest.fail("lint-imports is not installed (pip install '.[test]')")
    return subprocess.run([exe, "--config", str(config), "--no-cache"], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_imports_only_point_down(tmp_path):
    result = _lint_imports(PYPROJECT, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


def test_a_reversed_layer_order_is_reported(tmp_path):
    # the same contract with the estimators and the io layer swapped must break: the
    # check analyses the real imports, it cannot pass vacuously
    text = PYPROJECT.read_text()
    estimators = '"fairfast.postprocessing | fairfast.steering | fairfast.dafh | fairfast.performative",'
    assert estimators in text and '    "fairfast.io",\n' in text
    swapped = text.replace('    "fairfast.io",\n', "    @IO@\n").replace(estimators, '"fairfast.io",')
    swapped = swapped.replace("    @IO@\n", f"    {estimators}\n")
    (tmp_path / "pyproject.toml").write_text(swapped)
    result = _lint_imports(tmp_path / "pyproject.toml", tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "fairfast.io" in result.stdout
