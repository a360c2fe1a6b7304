"""Layering rules, checked on the source (ast), so they hold even for code paths no test runs:

- core/ never imports streamlit (the library works without the dashboard);
- views/ and app.py never import torch, sklearn or transformers directly (pages only lay out what core returns);
- core/plots.py stays pure plotly (no streamlit, no model libraries);
- no module of core/ or ui/ is over MAX_LINES lines (exceptions named in LONG_MODULES with the reason).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
HEAVY = {"torch", "sklearn", "transformers"}


def imported_modules(path: Path) -> set[str]:
    """Top-level package names imported anywhere in `path` (including inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__") and node.args and isinstance(node.args[0], ast.Constant):
            names.add(str(node.args[0].value).split(".")[0])
    return names


def py_files(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_imported_modules_sees_every_form(tmp_path):
    f = tmp_path / "x.py"
    f.write_text("import a.b\nfrom c import d\nfrom . import e\ndef f():\n    import torch\n"
                 "importlib.import_module('sklearn.linear_model')\n")
    assert imported_modules(f) == {"a", "c", "torch", "sklearn"}


@pytest.mark.parametrize("path", py_files("core"), ids=lambda p: str(p.relative_to(ROOT)))
def test_core_never_imports_streamlit(path):
    assert "streamlit" not in imported_modules(path)


@pytest.mark.parametrize("path", py_files("views") + [ROOT / "app.py"], ids=lambda p: str(p.relative_to(ROOT)))
def test_pages_never_import_model_libraries(path):
    bad = imported_modules(path) & HEAVY
    assert not bad, f"{path.name} imports {sorted(bad)}: go through ui / core instead"


def test_plots_is_pure_plotly():
    assert not imported_modules(ROOT / "core" / "plots.py") & (HEAVY | {"streamlit"})


MAX_LINES = 400
#: Modules allowed over MAX_LINES: path (relative to the repository) -> why.
LONG_MODULES: dict[str, str] = {}


@pytest.mark.parametrize("path", py_files("core") + py_files("ui"), ids=lambda p: str(p.relative_to(ROOT)))
def test_modules_stay_small(path):
    rel = path.relative_to(ROOT).as_posix()
    n = len(path.read_text(encoding="utf-8").splitlines())
    if rel in LONG_MODULES:
        return
    assert n <= MAX_LINES, f"{rel} has {n} lines (> {MAX_LINES}): split it by role, or name it in LONG_MODULES"


def test_long_module_exceptions_are_still_needed():
    stale = [rel for rel in LONG_MODULES
             if not (ROOT / rel).exists() or len((ROOT / rel).read_text(encoding="utf-8").splitlines()) <= MAX_LINES]
    assert not stale, f"remove from LONG_MODULES (gone or short now): {stale}"


def test_ui_never_needs_the_pages_folder_patch():
    """views/ is not called pages/, so Streamlit's legacy multipage mode never starts and no private flag is patched."""
    assert not (ROOT / "pages").exists()
    for path in py_files("ui") + py_files("views") + [ROOT / "app.py"]:
        assert "uses_pages_directory" not in path.read_text(encoding="utf-8"), path
