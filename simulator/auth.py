"""Tokens: JWT-shaped HMAC-SHA256 tokens, refresh rotation, and the auth rate limit."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from simulator.config import Faults
from simulator.world import Company


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class AuthResult:
    """What an auth endpoint answers."""

    status: int
    body: dict[str, Any]
    headers: list[tuple[str, str]]


class TokenService:
    """Issues and checks tokens for the simulated companies. Not locked itself: the
    simulator calls it under its state lock."""

    def __init__(
        self,
        secret: bytes,
        companies: list[Company],
        faults: Callable[[], Faults],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret = secret
        self._by_client = {c.client_id: c for c in companies}
        self._faults = faults
        self._clock = clock
        self._live_refresh: dict[str, float] = {}  # jti -> exp of refresh tokens not yet used
        self._last_call: dict[tuple[str, str], float] = {}  # (client_id, endpoint) -> time

    # --- tokens --------------------------------------------------------------------------

    def _sign(self, payload: dict[str, Any]) -> str:
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        body = _b64(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{_b64(signature)}"

    def decode(self, token: str, kind: str) -> dict[str, Any] | None:
        """The claims of a well-signed, unexpired token of `kind`, else None."""
        parts = token.split(".")
        if len(parts) != 3:
            return None
        expected = hmac.new(
            self._secret, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256
        ).digest()
        try:
            if not hmac.compare_digest(expected, _unb64(parts[2])):
                return None
            claims = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if not isinstance(claims, dict) or claims.get("kind") != kind:
            return None
        if not isinstance(claims.get("exp"), int | float) or claims["exp"] <= self._clock():
            return None
        if claims.get("client_id") not in self._by_client:
            return None
        return claims

    def _issue(self, company: Company) -> dict[str, Any]:
        now, faults = self._clock(), self._faults()
        tokens = {}
        for kind, ttl in (("access", faults.token_ttl), ("refresh", faults.refresh_ttl)):
            jti = uuid.uuid4().hex
            exp = round(now + ttl, 3)  # fractional so sub-second lifetimes work in tests
            tokens[kind] = self._sign(
                {
                    "client_id": company.client_id,
                    "company_id": company.company_id,
                    "kind": kind,
                    "iat": round(now, 3),
                    "exp": exp,
                    "jti": jti,
                }
            )
            if kind == "refresh":
                self._live_refresh[jti] = exp
        return {
            "access_token": tokens["access"],
            "refresh_token": tokens["refresh"],
            "expires_in": max(1, math.ceil(faults.token_ttl)),
        }

    # --- endpoints -----------------------------------------------------------------------

    def _throttled(self, client_id: str, endpoint: str) -> AuthResult | None:
        """One accepted call per credential and endpoint per auth_min_interval. Refused
        calls do not restart the window."""
        now, interval = self._clock(), self._faults().auth_min_interval
        last = self._last_call.get((client_id, endpoint))
        if last is not None and now - last < interval:
            wait = max(1, math.ceil(interval - (now - last)))
            return AuthResult(
                429,
                {"error": f"Too many {endpoint} requests; retry in {wait} s", "retry_after": wait},
                [("Retry-After", str(wait))],
            )
        self._last_call[(client_id, endpoint)] = now
        return None

    def obtain(self, body: Any) -> tuple[str | None, AuthResult]:
        """POST {auth}/ with client_id and client_secret; returns (client_id, result)."""
        if not isinstance(body, dict):
            return None, AuthResult(
                400, {"error": "JSON body with client_id and client_secret expected"}, []
            )
        client_id, secret = body.get("client_id"), body.get("client_secret")
        company = self._by_client.get(client_id) if isinstance(client_id, str) else None
        if company is None or not isinstance(secret, str):
            return _name(client_id), AuthResult(401, {"error": "Invalid client credentials"}, [])
        if not hmac.compare_digest(secret.encode(), company.client_secret.encode()):
            return client_id, AuthResult(401, {"error": "Invalid client credentials"}, [])
        return client_id, self._throttled(client_id, "obtain") or AuthResult(
            200, self._issue(company), []
        )

    def refresh(self, authorization: str) -> tuple[str | None, AuthResult]:
        """POST {auth}/refresh with `Authorization: JWT <refresh_token>`; rotates it."""
        claims = self.decode(_jwt(authorization) or "", "refresh")
        if claims is None:
            return None, AuthResult(401, {"error": "Invalid or expired refresh token"}, [])
        client_id = claims["client_id"]
        if claims["jti"] not in self._live_refresh:
            return client_id, AuthResult(401, {"error": "Refresh token already used"}, [])
        throttled = self._throttled(client_id, "refresh")
        if throttled:
            return client_id, throttled  # the refresh token stays usable
        del self._live_refresh[claims["jti"]]
        now = self._clock()
        self._live_refresh = {j: e for j, e in self._live_refresh.items() if e > now}
        return client_id, AuthResult(200, self._issue(self._by_client[client_id]), [])

    def authenticate(self, authorization: str) -> dict[str, Any] | None:
        """The claims of the access token in an Authorization header, or None."""
        token = _jwt(authorization)
        return self.decode(token, "access") if token else None


def _jwt(authorization: str) -> str | None:
    # The scheme word is literally "JWT" (reference §2.1); "Bearer" is refused on purpose.
    scheme, _, token = authorization.strip().partition(" ")
    if scheme != "JWT" or not token.strip():
        return None
    return token.strip()


def _name(client_id: Any) -> str | None:
    return client_id if isinstance(client_id, str) else None
