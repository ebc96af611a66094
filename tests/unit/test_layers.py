"""The import arrows run downward only (README "Layout"): checked on the source files."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("service", "miniprogram_api", "qr", "uploads_schema")


def _imports(path: Path) -> set[str]:
    """Every module a file imports (absolute names), including imports inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _offending(package: str, forbidden: tuple[str, ...]) -> list[str]:
    bad = []
    for path in _modules(package):
        for name in sorted(_imports(path)):
            if any(name == f or name.startswith(f"{f}.") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    return bad


@pytest.mark.parametrize("package", ["service", "qr", "uploads_schema"])
def test_the_core_layers_never_import_flask_or_the_app(package):
    assert _offending(package, ("flask", "flask_smorest", "werkzeug", "miniprogram_api")) == []


def test_qr_imports_no_project_code():
    assert _offending("qr", tuple(p for p in PROJECT if p != "qr")) == []


def test_the_schemas_import_no_service_code():
    assert _offending("uploads_schema", ("service", "miniprogram_api")) == []


def test_service_core_imports_no_other_service_package():
    others = tuple(
        f"service.{p.name}"
        for p in (ROOT / "service").iterdir()
        if p.name not in {"core", "__pycache__"} and (p.is_dir() or p.suffix == ".py")
        for p in [p.with_suffix("") if p.suffix == ".py" else p]
    )
    assert _offending("service/core", (*others, "service.bootstrap")) == []


def _constructs(path: Path, names: set[str]) -> bool:
    return any(
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names
        for node in ast.walk(ast.parse(path.read_text(), str(path)))
    )


def test_only_the_composition_root_picks_adapters_and_installs_listeners():
    """Storage adapters are built, and the rollup listener installed, in service.bootstrap."""
    files = [path for package in ("service", "miniprogram_api") for path in _modules(package)]
    builders = [
        str(path.relative_to(ROOT))
        for path in files
        if _constructs(path, {"LocalStorage", "MinioStorage"})
    ]
    assert builders == ["service/bootstrap.py"]
    installs = [
        str(path.relative_to(ROOT)) for path in files if "rollup.install()" in path.read_text()
    ]
    assert installs == ["service/bootstrap.py"]
