"""The engine's packages import only downward (docs/architecture.md "Engine packages"), and never Flask."""
from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
# The foundation (modules at engine/'s top) is level 0; each package may import only lower levels.
LEVEL = {"": 0, "runtime": 1, "casefile": 2, "ops": 2, "access": 3, "admin": 4, "records": 4.5, "commands": 5}


def _package_of(path: Path, engine: Path = ENGINE) -> str:
    parts = path.relative_to(engine).parts
    return parts[0] if len(parts) == 2 else ""


def _imported_packages(path: Path, engine: Path = ENGINE):
    """(line, package) for each engine-internal import of a module file."""
    own = _package_of(path, engine)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            names = [alias.name for alias in node.names]
            if node.level:  # relative: from the module's own package upwards
                base = own if node.level == 1 else ""
                head = (node.module or "").split(".")[0]
                if node.level == 1 and own == "" and head in LEVEL:
                    base = head
                elif node.level > 1 and head in LEVEL:
                    base = head
                elif node.level > 1 and not node.module:
                    base = next((n for n in names if n in LEVEL and n), "")
                yield node.lineno, base
            elif (node.module or "").startswith("tsunagu.engine"):
                parts = node.module.split(".")
                yield node.lineno, parts[2] if len(parts) > 2 and parts[2] in LEVEL else ""
            elif (node.module or "").split(".")[0] == "flask":
                yield node.lineno, "flask"
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "flask" for a in node.names):
            yield node.lineno, "flask"


def test_engine_packages_import_only_downward_and_never_flask():
    wrong = []
    for path in sorted(ENGINE.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        own = _package_of(path)
        for line, target in _imported_packages(path):
            if target == "flask":
                wrong.append(f"{path.relative_to(ENGINE)}:{line} imports Flask")
            elif target != own and LEVEL[target] >= LEVEL[own] and not (own == "" and target == ""):
                wrong.append(f"{path.relative_to(ENGINE)}:{line} imports {target or 'the foundation'} from {own}")
    assert wrong == []


def test_the_rule_catches_an_upward_import(tmp_path):
    """The check above can fail: a runtime module reaching into commands is reported."""
    engine = tmp_path / "engine"
    (engine / "runtime").mkdir(parents=True)
    (engine / "runtime" / "bad.py").write_text("from ..commands.cases import start_case\n", encoding="utf-8")
    assert list(_imported_packages(engine / "runtime" / "bad.py", engine)) == [(1, "commands")]
