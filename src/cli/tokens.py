"""`token`: mint a development JWT that the API accepts (signed with JWT_SECRET)."""

from __future__ import annotations

import argparse
from datetime import timedelta

from api.auth.tokens import mint_token
from config import load_settings
from config.secrets import require
from devstack.banner import DEMO_APPLICATION_ID, DEMO_SUBJECTS, DEMO_TOKEN_TTL
from domain.access import Role

ROLES = [role.value for role in Role]


def _role(value: str) -> str:
    """`ROLE_AGENT`; `agent` or `AGENT` are accepted as short forms."""
    name = value.strip().upper()
    if not name.startswith("ROLE_"):
        name = f"ROLE_{name}"
    if name not in ROLES:
        raise argparse.ArgumentTypeError(f"unknown role {value!r} (choose from {', '.join(ROLES)})")
    return name


def _minutes(value: str) -> int:
    try:
        minutes = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number of minutes") from None
    if minutes <= 0:
        raise argparse.ArgumentTypeError("the lifetime must be at least one minute")
    return minutes


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "token",
        help="print a development JWT for a role, subject and application",
        description="Print a JWT signed with JWT_SECRET (and carrying JWT_AUDIENCE / JWT_ISSUER when "
        "set), e.g. `export AGENT_TOKEN=$(appointments token --role ROLE_AGENT)`. Without JWT_SECRET, "
        "the secret `make run` generated for DATA_DIR. Defaults: the demo application and subjects "
        "that `make run` prints. Production tokens come from the identity provider.",
    )
    parser.add_argument(
        "--role",
        dest="roles",
        action="append",
        type=_role,
        required=True,
        metavar="ROLE",
        help=f"a role to grant; repeat for several ({', '.join(ROLES)})",
    )
    parser.add_argument("--sub", help="the subject (user id); default: the demo subject of the first role")
    parser.add_argument(
        "--application",
        default=DEMO_APPLICATION_ID,
        help=f"the applicationId claim (default: the demo application {DEMO_APPLICATION_ID})",
    )
    parser.add_argument("--conference", help="the conferenceId claim (customers see only that appointment)")
    parser.add_argument(
        "--ttl-minutes",
        type=_minutes,
        default=int(DEMO_TOKEN_TTL.total_seconds() // 60),
        metavar="N",
        help="lifetime in minutes (default: %(default)s)",
    )
    parser.set_defaults(handler=_token)


def _token(args: argparse.Namespace) -> int:
    settings = load_settings()
    roles = list(dict.fromkeys(args.roles))
    print(
        mint_token(
            require(settings.jwt_secret, "JWT_SECRET"),
            sub=args.sub or DEMO_SUBJECTS[roles[0]],
            roles=roles,
            application_id=args.application,
            conference_id=args.conference,
            ttl=timedelta(minutes=args.ttl_minutes),
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
        )
    )
    return 0
