"""An identity provider's key endpoints, served over real HTTP on loopback, with real keys.

It publishes a JWKS and an OpenID Connect discovery document naming it, and signs tokens with
private keys made by `cryptography`. Tests rotate its keys, take it down and bring it back.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes

from devstack.net import free_port
from tests.support.serving import serve_asgi

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def public_jwk(kid: str, key: PrivateKey) -> dict[str, Any]:
    algorithm = (
        jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    )
    jwk = json.loads(algorithm.to_jwk(key.public_key()))
    return {**jwk, "kid": kid, "use": "sig"}


@dataclass
class IdentityProvider:
    port: int = 0
    # kid -> private key; the JWKS publishes their public halves.
    keys: dict[str, PrivateKey] = field(default_factory=dict)
    available: bool = True
    fetches: int = 0

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def add_key(self, kid: str, key: PrivateKey | None = None) -> PrivateKey:
        self.keys[kid] = key or rsa_key()
        return self.keys[kid]

    def token(
        self,
        kid: str | None,
        *,
        key: PrivateKeyTypes | None = None,
        algorithm: str | None = None,
        ttl: float = 600,
        **claims: Any,
    ) -> str:
        """A token signed with the key `kid` names (or `key`), with `claims` over sensible ones."""
        signing = key or self.keys[kid or ""]
        default = "RS256" if isinstance(signing, rsa.RSAPrivateKey) else "ES256"
        body = {
            "sub": f"user-{uuid.uuid4().hex[:8]}",
            "iss": self.issuer,
            "iat": int(time.time()),
            "exp": int(time.time() + ttl),
            **claims,
        }
        headers = {} if kid is None else {"kid": kid}
        return jwt.encode(body, signing, algorithm=algorithm or default, headers=headers)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/jwks":
            self.fetches += 1
            document: dict[str, Any] = {"keys": [public_jwk(kid, key) for kid, key in self.keys.items()]}
        elif scope["path"] == "/.well-known/openid-configuration":
            document = {
                "issuer": self.issuer,
                "jwks_uri": self.jwks_url,
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        else:
            document = {}
        status = 200 if self.available and document else 503 if not self.available else 404
        body = json.dumps(document).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


async def start_identity_provider() -> tuple[IdentityProvider, uvicorn.Server, asyncio.Task[None]]:
    provider = IdentityProvider(port=free_port())
    return provider, *await serve_asgi(provider, provider.port)
