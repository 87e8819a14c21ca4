"""`python -m devstack` (what `make run` runs): the whole service on this machine, embedded."""

from __future__ import annotations

import logging
import sys

from config.settings import Settings, SettingsError
from devstack.supervisor import run


def main() -> int:
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s devstack: %(message)s",
        datefmt="%H:%M:%S",
    )
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        logging.getLogger("devstack").error("%s", error)
        return 2
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
