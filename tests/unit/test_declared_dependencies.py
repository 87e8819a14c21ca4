"""Every package the code imports is one `pyproject.toml` declares, for the code that imports it.

The service's code may use the main dependencies; the development stack adds the `embedded` extra;
the tests and the benchmarks may use every extra. A package that is only there because another
one pulled it in would vanish from a fresh install the day that other package stops needing it.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCAL = {path.name for path in (ROOT / "src").iterdir() if path.is_dir()} | {"tests", "bench", "worker"}


def _name(requirement: str) -> str:
    return re.sub(r"[-_.]+", "-", re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0]).lower()


def _declared(*extras: str) -> set[str]:
    groups = [PROJECT["dependencies"], *(PROJECT["optional-dependencies"][extra] for extra in extras)]
    return {_name(requirement) for group in groups for requirement in group}


def _imported(*roots: str) -> dict[str, set[str]]:
    """Top-level module -> the files importing it, third-party modules only."""
    modules: dict[str, set[str]] = {}
    for root in roots:
        path = ROOT / root
        for source in [path] if path.is_file() else path.rglob("*.py"):
            for node in ast.walk(ast.parse(source.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top not in LOCAL and top not in sys.stdlib_module_names:
                        modules.setdefault(top, set()).add(str(source.relative_to(ROOT)))
    return modules


def _undeclared(modules: dict[str, set[str]], declared: set[str]) -> dict[str, str]:
    distributions = packages_distributions()
    missing: dict[str, str] = {}
    for module, files in sorted(modules.items()):
        names = {_name(dist) for dist in distributions.get(module, [module])}
        if not names & declared:
            missing[module] = sorted(files)[0]
    return missing


def test_the_services_imports_are_its_dependencies() -> None:
    service = _imported("src", "worker.py")
    service_only = {m: f for m, f in service.items() if any(not p.startswith("src/devstack") for p in f)}
    assert _undeclared(service_only, _declared()) == {}
    assert _undeclared(_imported("src/devstack"), _declared("embedded")) == {}


def test_the_tests_and_benchmarks_imports_are_declared() -> None:
    everything = _declared(*PROJECT["optional-dependencies"])
    assert _undeclared(_imported("tests", "bench"), everything) == {}
