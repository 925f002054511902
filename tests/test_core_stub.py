"""fairfast/_core.pyi names exactly what fairfast._core binds (thresholds excepted: its
owner stubs it), so the stub cannot drift from the compiled module."""

import ast
from pathlib import Path

import fairfast
from fairfast import _core

STUB = Path(fairfast.__file__).with_name("_core.pyi")
SUBMODULES = {"sort": "_Sort", "transport": "_Transport", "barycenter": "_Barycenter", "metrics": "_Metrics",
              "steering": "_Steering", "grouping": "_Grouping"}


def _stub():
    tree = ast.parse(STUB.read_text())
    classes, top = {}, set()
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names = set()
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    names.add(item.name)
                elif isinstance(item, ast.AnnAssign):
                    names.add(item.target.id)
                elif isinstance(item, ast.Assign):
                    names.update(t.id for t in item.targets)
            classes[node.name] = names
            if not node.name.startswith("_"):
                top.add(node.name)
        elif isinstance(node, ast.FunctionDef):
            top.add(node.name)
        elif isinstance(node, ast.AnnAssign):
            top.add(node.target.id)
    return classes, top


def _public(obj):
    return {n for n in dir(obj) if not n.startswith("_")}


def test_stub_names_every_binding():
    classes, top = _stub()
    assert top == _public(_core), top ^ _public(_core)
    for sub, cls in SUBMODULES.items():
        assert classes[cls] == _public(getattr(_core, sub)), (sub, classes[cls] ^ _public(getattr(_core, sub)))
    bound = _public(_core.barycenter.BarycenterStage64) - {"fit"}
    stubbed = (classes["_BarycenterStage"] | classes["_BarycenterStage64"]) - {"__init__", "fit"}
    assert stubbed == bound, stubbed ^ bound
    assert classes["_BarycenterStage32"] == classes["_BarycenterStage64"]
    assert set(_core.Status.__members__) == classes["Status"]
