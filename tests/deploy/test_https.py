"""HTTPS defaults without DEBUG: http is redirected except /healthz, a TLS-terminating proxy
is trusted through SECURE_PROXY_SSL_HEADER, and HSTS is sent on https."""

from django.test import Client, override_settings

SECURE = {
    "SECURE_SSL_REDIRECT": True,  # tests/settings.py turns it off for the rest of the suite
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "ALLOWED_HOSTS": ["mirror.example.com"],
}


def client() -> Client:
    # A new client reads the settings again: SecurityMiddleware takes them when it is built.
    return Client(HTTP_HOST="mirror.example.com")


@override_settings(**SECURE)
def test_http_is_redirected_to_https(db) -> None:
    response = client().get("/admin/login/")
    assert response.status_code == 301
    assert response["Location"] == "https://mirror.example.com/admin/login/"


@override_settings(**SECURE)
def test_healthz_is_never_redirected(db) -> None:
    assert client().get("/healthz").status_code == 200


@override_settings(**SECURE)
def test_https_from_the_proxy_is_served_with_hsts(db) -> None:
    response = client().get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    assert "Secure" in str(response.cookies["csrftoken"])
