"""Sampling profiles of the stack's processes under load, with py-spy (the `bench` extra).

`profiled(processes, out_dir)` records each process while the block runs (py-spy attaches to a
running process, which needs root or ptrace rights) and writes its collapsed stacks to
`<out_dir>/<name>.folded` (open in speedscope.app, or `flamegraph.pl`); `top_frames` reads
them back as the functions that hold most samples.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil

# Frames of the project's own code, as py-spy names their files.
_PACKAGES = tuple(f"{p.name}/" for p in (Path(__file__).resolve().parents[1] / "src").iterdir() if p.is_dir())


@contextmanager
def profiled(processes: dict[str, psutil.Process], out_dir: Path, *, rate: int = 97) -> Iterator[None]:
    py_spy = shutil.which(
        "py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    )
    if py_spy is None:
        raise RuntimeError("py-spy is not installed: pip install -e '.[bench]'")
    out_dir.mkdir(parents=True, exist_ok=True)
    options = ["--rate", str(rate), "--format", "raw", "--nonblocking"]
    recorders = [
        subprocess.Popen(
            [py_spy, "record", "--pid", str(p.pid), *options, "--output", str(out_dir / f"{name}.folded")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for name, p in processes.items()
    ]
    try:
        yield
    finally:
        for recorder in recorders:
            recorder.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
        for recorder in recorders:
            recorder.wait(timeout=60)


def shares(folded: Path) -> tuple[Counter[str], Counter[str], int]:
    """Samples per function: on top of the stack (self), anywhere on it (inclusive), and in all."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in folded.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        frames = stack.split(";")
        n = int(samples)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    return own, inclusive, total


def print_profiles(out_dir: Path, count: int = 15) -> None:
    """Per process: the functions holding most samples themselves, and the project's own
    functions (under src/) by the samples spent inside them."""
    for folded in sorted(out_dir.glob("*.folded")):
        own, inclusive, total = shares(folded)
        if not total:
            continue
        print(f"\n{folded.stem}: {total} samples ({folded})")
        print("  self:")
        for frame, n in own.most_common(count):
            print(f"    {n / total:6.1%}  {frame}")
        print("  inside the project's functions:")
        ours = [(f, n) for f, n in inclusive.most_common() if f.partition("(")[2].startswith(_PACKAGES)]
        for frame, n in ours[:count]:
            print(f"    {n / total:6.1%}  {frame}")
