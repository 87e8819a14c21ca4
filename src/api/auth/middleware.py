"""Bearer-token authentication for every route not marked `exclude_from_auth`."""

from __future__ import annotations

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from api.auth.tokens import InvalidToken, TokenVerifier


class JWTAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        verifier: TokenVerifier = connection.app.state.token_verifier
        header = connection.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise NotAuthorizedException("a bearer token is required in the Authorization header")
        try:
            principal = verifier.verify(token.strip())
        except InvalidToken as exc:
            raise NotAuthorizedException(f"invalid token: {exc}") from None
        return AuthenticationResult(user=principal, auth=token)
