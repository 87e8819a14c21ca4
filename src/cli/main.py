"""The `appointments` console script: argparse subcommands, each in its own module."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from cli import replay, reproject, services, tokens
from config.secrets import development_secrets, over_development_secrets
from config.settings import SettingsError, load_settings
from temporal_access.codec import CodecKeyError

PROG = "appointments"
# What an engineer runs against the development stack: without secrets in the environment, they
# use those `make run` generated for DATA_DIR. The service's own processes never do.
DEVELOPMENT_TOOLS = frozenset({"token", "replay", "reproject"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Run and operate the appointments service. Configuration comes from the "
        "environment variables listed in the README.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    services.register(commands)
    tokens.register(commands)
    replay.register(commands)
    reproject.register(commands)
    return parser


def _use_development_secrets() -> None:
    stored = development_secrets(Path(os.environ.get("DATA_DIR") or ".data").resolve())
    if stored:
        os.environ.update(over_development_secrets(stored, os.environ))
        load_settings.cache_clear()


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command in DEVELOPMENT_TOOLS:
        _use_development_secrets()
    try:
        return args.handler(args)
    except (SettingsError, CodecKeyError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
