"""Clients generated from the served OpenAPI document, the way a user of the API makes them.

Python: openapi-python-client, from the project's venv. TypeScript: openapi-typescript's types and
a small typed `fetch` client (tests/support/typed_client.ts) checked by `tsc --strict` and run by
node. Nothing here edits what a generator writes: what it cannot do is the document's defect.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parents[2]
TYPED_CLIENT = Path(__file__).with_name("typed_client.ts")

# A generator's complaints about the document, as it prints them.
_COMPLAINT = re.compile(r"warning|unable to parse|error|⚠", re.IGNORECASE)

# Installed once, beside the project's other installed packages (.venv is not committed).
TS_TOOLS = ROOT / ".venv" / "generated-clients-ts"
TS_PACKAGES = {"openapi-typescript": "7", "typescript": "5"}


@dataclass(frozen=True)
class Run:
    command: Sequence[str]
    returncode: int
    output: str

    def __str__(self) -> str:
        return f"$ {' '.join(self.command)}\n(exit {self.returncode})\n{self.output}"


async def run(*command: str, cwd: Path | None = None, time_limit: float = 300) -> Run:
    """A command with stdout and stderr together; awaited, so the served API keeps answering."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    process = await asyncio.create_subprocess_exec(
        *command,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(), time_limit)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return Run(command, process.returncode, output.decode(errors="replace"))


def complaints(output: str) -> list[str]:
    """The lines of a generator's output that warn about the document or fail to read it."""
    return [line for line in output.splitlines() if _COMPLAINT.search(line)]


# -- Python ------------------------------------------------------------------------------------


async def generate_python_client(document: Path, package: Path) -> Run:
    """`openapi-python-client generate` into `package`, a directory named as the package.

    It formats what it writes with ruff, found on PATH: `run` puts the venv's bin dir first.
    """
    return await run(
        str(BIN / "openapi-python-client"),
        "generate",
        "--path",
        str(document),
        "--output-path",
        str(package),
        "--meta",
        "none",
        cwd=package.parent,
    )


@contextmanager
def imported(package: Path) -> Iterator[ModuleType]:
    """The generated package, imported by its name; gone from sys.path and sys.modules after."""
    name, parent = package.name, str(package.parent)
    sys.path.insert(0, parent)
    try:
        importlib.invalidate_caches()
        yield importlib.import_module(name)
    finally:
        sys.path.remove(parent)
        for module in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
            del sys.modules[module]


# -- TypeScript --------------------------------------------------------------------------------


def _installed_major(name: str) -> str | None:
    manifest = TS_TOOLS / "node_modules" / name / "package.json"
    if not manifest.exists():
        return None
    return str(json.loads(manifest.read_text())["version"]).split(".")[0]


async def typescript_tools() -> Path | str:
    """The node_modules/.bin of openapi-typescript and tsc, installed once; or why not."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        return "Node.js and npm are not installed: the TypeScript client needs them"
    if any(_installed_major(name) != major for name, major in TS_PACKAGES.items()):
        TS_TOOLS.mkdir(parents=True, exist_ok=True)
        manifest = TS_TOOLS / "package.json"
        if not manifest.exists():
            manifest.write_text('{"private": true}\n')
        packages = [f"{name}@{major}" for name, major in TS_PACKAGES.items()]
        try:
            installed = await run(npm, "install", "--no-audit", "--no-fund", *packages, cwd=TS_TOOLS)
        except TimeoutError:
            return f"npm install {' '.join(packages)} did not finish: is npm's registry reachable?"
        if installed.returncode != 0:
            return f"npm could not install the TypeScript tools: {installed.output.strip()[-400:]}"
    return TS_TOOLS / "node_modules" / ".bin"
