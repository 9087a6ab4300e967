"""The stub matches the module: same ``__all__`` (``__version__`` included), every class
final; the package re-exports everything."""

from __future__ import annotations

import ast
from pathlib import Path

import netfilter_helpers
import netfilter_helpers._netfilter_helpers as ext

STUB = Path(netfilter_helpers.__file__).with_name("_netfilter_helpers.pyi")


def stub_tree() -> ast.Module:
    return ast.parse(STUB.read_text())


def test_stub_all_matches_module_all() -> None:
    for node in stub_tree().body:
        if isinstance(node, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            assert isinstance(node.value, ast.List)
            names = [str(e.value) for e in node.value.elts if isinstance(e, ast.Constant)]
            break
    else:
        raise AssertionError("the stub has no __all__")
    assert sorted(names) == sorted(ext.__all__)
    assert "__version__" in ext.__all__
    assert sorted(netfilter_helpers.__all__) == sorted(ext.__all__)
    for name in ext.__all__:
        assert getattr(netfilter_helpers, name) is getattr(ext, name)


def test_stub_classes_are_final() -> None:
    for node in stub_tree().body:
        if isinstance(node, ast.ClassDef) and not node.name.endswith("Error"):
            decorators = [d.id for d in node.decorator_list if isinstance(d, ast.Name)]
            assert "final" in decorators, node.name


def test_typed_package() -> None:
    assert Path(netfilter_helpers.__file__).with_name("py.typed").exists()
    assert netfilter_helpers.__version__ == ext.__version__
