"""Bearer-token authentication and the route's role rule, once per request.

A plain ASGI middleware after routing: it reads the `Authorization` header straight from the
scope and the roles from the route's `opt` (see `api.auth.guards.requires`). Litestar's
authentication middleware and guards did the same through a connection object, a parsed header
map and a copy of the route handler for every guard call, which together cost a tenth of the
API's fastest read (docs/BENCHMARKS.md).
"""

from __future__ import annotations

from litestar.exceptions import NotAuthorizedException
from litestar.types import ASGIApp, Receive, Scope, Send

from api.auth.guards import check_application, check_roles
from api.auth.keys import KeysUnavailable
from api.auth.tokens import InvalidToken, TokenVerifier
from api.errors import ServiceUnavailable
from domain.access import Principal

# Litestar puts `exclude_from_auth=True` of a route decorator into the route's `opt`.
EXCLUDE_FROM_AUTH = "exclude_from_auth"


class JWTAuthenticationMiddleware:
    def __init__(self, app: ASGIApp, verifier: TokenVerifier, exclude_prefix: str) -> None:
        self.app = app
        self.verifier = verifier
        self.exclude_prefix = exclude_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # OPTIONS is answered by Litestar itself (Allow) or the codec's CORS preflight: no data.
        if scope["type"] == "http" and scope["method"] != "OPTIONS":
            opt = scope["route_handler"].opt
            if not opt.get(EXCLUDE_FROM_AUTH) and not scope["path"].startswith(self.exclude_prefix):
                principal, token = await self._authenticate(scope)
                check_roles(opt, principal)
                check_application(opt, principal, scope)
                scope["user"] = principal
                scope["auth"] = token
        await self.app(scope, receive, send)

    async def _authenticate(self, scope: Scope) -> tuple[Principal, str]:
        header = next((v for k, v in scope["headers"] if k == b"authorization"), b"").decode("latin-1")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if not token and scheme.count(".") == 2:
            # The contract's samples send the token alone (`Authorization: <jwt>`), as an API key.
            scheme, token = "bearer", scheme
        if scheme.lower() != "bearer" or not token:
            raise NotAuthorizedException("a bearer token is required in the Authorization header")
        try:
            return await self.verifier.verify(token), token
        except InvalidToken as exc:
            raise NotAuthorizedException(f"invalid token: {exc}") from None
        except KeysUnavailable as exc:
            # The identity provider's keys could not be fetched yet: the service's fault.
            raise ServiceUnavailable(f"{exc}; retry the request") from None
