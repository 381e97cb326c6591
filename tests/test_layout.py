"""The package layout: no module imports another module's private names (what two modules share is public in its owner)."""

from __future__ import annotations

import ast
from pathlib import Path

import voc

ROOT = Path(voc.__file__).parent


def private_imports(path: Path) -> list[str]:
    """``from X import _name`` statements in one file (``__future__`` and dunders aside)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module != "__future__":
            for a in node.names:
                if a.name.startswith("_") and not a.name.startswith("__"):
                    out.append(f"{path.relative_to(ROOT.parent)}:{node.lineno} imports {a.name} from "
                               f"{'.' * node.level}{node.module or ''}")
    return out


def test_the_guard_finds_a_private_import(tmp_path):
    f = tmp_path / "voc" / "m.py"
    f.parent.mkdir()
    f.write_text("from __future__ import annotations\nfrom .a import public, _private\nfrom . import __version__\n")
    global ROOT
    old, ROOT = ROOT, tmp_path / "voc"
    try:
        assert private_imports(f) == ["voc/m.py:2 imports _private from .a"]
    finally:
        ROOT = old


def test_no_private_imports_across_modules():
    found = [hit for f in sorted(ROOT.rglob("*.py")) for hit in private_imports(f)]
    assert found == []


def test_shared_vocabularies_have_one_definition():
    """Names that several modules use are one object, defined once (issue 20, item 9)."""
    import voc.config
    import voc.rank
    import voc.report
    import voc.segment
    import voc.store
    import voc.survey
    import voc.trends

    assert voc.survey.CES_DIRECTIONS is voc.config.CES_DIRECTIONS
    assert voc.segment.UNITS is voc.config.UNITS
    assert voc.report.QUOTE_SEP is voc.rank.QUOTE_SEP
    assert voc.store.TREND_METRICS is voc.trends.TREND_METRICS
    for name in ("CES_DIRECTIONS", "UNITS", "QUOTE_SEP", "TREND_METRICS"):
        defining = [p.name for p in ROOT.rglob("*.py")
                    if any(line.startswith(f"{name} = ") for line in p.read_text(encoding="utf-8").splitlines())]
        assert len(defining) == 1, (name, defining)


def test_every_package_ships_in_the_wheel():
    """Each folder of voc/ with an __init__.py is listed in pyproject's packages (a split stage must not go missing)."""
    import tomllib

    listed = set(tomllib.loads((ROOT.parent / "pyproject.toml").read_text(encoding="utf-8"))
                 ["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(ROOT.parent).parts) for p in ROOT.rglob("__init__.py")}
    assert found - listed == set()
