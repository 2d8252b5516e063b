"""Tokens: obtain, refresh with rotation, expiry, the auth rate limit, and 401/403."""

from __future__ import annotations

import base64
import json
import time

import httpx
import pytest

from simulator import Faults, Simulator
from tests.simulator.conftest import API, AUTH, Api, make_sim


def client(sim: Simulator) -> httpx.Client:
    return httpx.Client(transport=httpx.WSGITransport(app=sim.app), base_url="http://sim")


def obtain(http: httpx.Client, sim: Simulator, index: int = 0, path: str = "/") -> httpx.Response:
    company = sim.companies[index]
    return http.post(
        AUTH + path.rstrip("/") + ("/" if path.endswith("/") else ""),
        json={"client_id": company.client_id, "client_secret": company.client_secret},
    )


def refresh(http: httpx.Client, token: str) -> httpx.Response:
    return http.post(f"{AUTH}/refresh", headers={"Authorization": f"JWT {token}"})


def claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def get(
    http: httpx.Client, token: str, path: str = "/property", **params: object
) -> httpx.Response:
    return http.get(API + path, params=params, headers={"Authorization": f"JWT {token}"})


def test_obtain_returns_jwt_shaped_tokens(sim: Simulator) -> None:
    http = client(sim)
    response = obtain(http, sim)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in"}
    assert body["expires_in"] == 86400
    access = claims(body["access_token"])
    assert access["kind"] == "access" and access["company_id"] == 1001
    assert access["client_id"] == "sim-client-1001"
    assert access["exp"] == pytest.approx(time.time() + 86400, abs=5)
    refresh_claims = claims(body["refresh_token"])
    assert refresh_claims["exp"] == pytest.approx(time.time() + 30 * 86400, abs=5)
    assert access["jti"] != refresh_claims["jti"]
    assert (
        json.loads(base64.urlsafe_b64decode(body["access_token"].split(".")[0] + "=="))["alg"]
        == "HS256"
    )
    # Without the trailing slash too.
    assert obtain(http, sim, index=1, path="").status_code == 200
    assert get(http, body["access_token"]).status_code == 200


def test_bad_credentials(sim: Simulator) -> None:
    http = client(sim)
    company = sim.companies[0]
    wrong = {"client_id": company.client_id, "client_secret": "nope"}
    assert http.post(f"{AUTH}/", json=wrong).status_code == 401
    unknown = {"client_id": "someone", "client_secret": company.client_secret}
    assert http.post(f"{AUTH}/", json=unknown).status_code == 401
    assert http.post(f"{AUTH}/", content=b"not json").status_code == 400
    assert http.get(f"{AUTH}/").status_code == 405


def test_refresh_rotates_both_tokens(sim: Simulator) -> None:
    http = client(sim)
    first = obtain(http, sim).json()
    second = refresh(http, first["refresh_token"])
    assert second.status_code == 200
    second = second.json()
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert refresh(http, first["refresh_token"]).status_code == 401  # rotated away
    assert get(http, second["access_token"]).status_code == 200
    assert get(http, first["access_token"]).status_code == 200  # valid until it expires
    assert refresh(http, second["refresh_token"]).status_code == 200
    # Refresh tokens are not access tokens and the other way round.
    assert get(http, second["refresh_token"]).status_code == 401
    assert refresh(http, second["access_token"]).status_code == 401
    assert http.post(f"{AUTH}/refresh").status_code == 401
    assert sim.stats["auth_refresh"]["sim-client-1001"] == 3


def test_tokens_expire_in_real_seconds() -> None:
    sim = make_sim(faults=Faults(token_ttl=0.3, refresh_ttl=0.6, auth_min_interval=0))
    http = client(sim)
    body = obtain(http, sim).json()
    assert body["expires_in"] == 1  # whole seconds, rounded up
    assert get(http, body["access_token"]).status_code == 200
    time.sleep(0.35)
    expired = get(http, body["access_token"])
    assert expired.status_code == 401 and "error" in expired.json()
    renewed = refresh(http, body["refresh_token"])
    assert renewed.status_code == 200
    assert get(http, renewed.json()["access_token"]).status_code == 200
    time.sleep(0.65)
    assert refresh(http, renewed.json()["refresh_token"]).status_code == 401


def test_second_auth_call_within_the_interval_is_refused(sim: Simulator) -> None:
    sim.faults.auth_min_interval = 60
    http = client(sim)
    first = obtain(http, sim)
    assert first.status_code == 200
    again = obtain(http, sim)
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "60"
    assert again.json()["retry_after"] == 60 and again.json()["error"]
    # Per credential: the other company is not affected.
    assert obtain(http, sim, index=1).status_code == 200
    # Obtain and refresh have a limit each (reference §2.3).
    token = first.json()["refresh_token"]
    renewed = refresh(http, token)
    assert renewed.status_code == 200
    throttled = refresh(http, renewed.json()["refresh_token"])
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) >= 59
    # A refused refresh does not use up the refresh token.
    sim.faults.auth_min_interval = 0
    assert refresh(http, renewed.json()["refresh_token"]).status_code == 200
    assert sim.stats["auth_obtain"] == {"sim-client-1001": 2, "sim-client-1002": 1}
    assert sim.stats["auth_by_status"][429] == 2


def test_data_requests_need_a_valid_jwt(api: Api) -> None:
    http = api.http
    missing = http.get(f"{API}/property")
    assert missing.status_code == 401 and missing.json()["error"]
    token = api.tokens["access_token"]
    assert (
        http.get(f"{API}/property", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    )
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert get(http, forged).status_code == 401
    assert get(http, "a.b.c").status_code == 401
    # A token of another simulator (other signing secret) is refused.
    stranger = make_sim(seed=5, companies=1, scale=0.001, faults=Faults(auth_min_interval=0))
    other = Api(stranger, stranger.companies[0])
    assert get(http, other.tokens["access_token"]).status_code == 401


def test_a_token_sees_only_its_company(api: Api) -> None:
    assert api.get("/property", company_id=1001).status_code == 200
    assert api.get("/property", company_id=1002).status_code == 403
    assert api.get("/people", company_id="1001,1002").status_code == 403
    other_task = api.sim.snapshot(1002)["tasks"][0]["id"]
    assert api.get(f"/task/{other_task}").status_code == 404
    ids = {p["id"] for p in api.all_pages("/property")}
    assert ids == {p["id"] for p in api.sim.snapshot(1001)["properties"]}
