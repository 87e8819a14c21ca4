"""The `appointments` console script: argparse subcommands, each in its own module."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import replay, reproject, services, tokens
from config.settings import SettingsError
from temporal_access.codec import CodecKeyError

PROG = "appointments"


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


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (SettingsError, CodecKeyError) as error:
        print(f"{PROG}: error: {error}", file=sys.stderr)
        return 2
