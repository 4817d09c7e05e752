"""The HTTP side: endpoints, TLS and basic auth, with a target that cannot be reached."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import ssl
import subprocess
import urllib.error
from pathlib import Path

import bcrypt
import pytest
from sidecar_support import SidecarThread, fetch, parse, sidecar_config, value, wait_for

from pgsage.analyzer.app.throwaway import free_port
from pgsage.analyzer.sidecar import web
from pgsage.analyzer.sidecar.web import Authenticator

HASH = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(rounds=4)).decode()


def _nowhere() -> dict[str, str]:
    """A target nothing listens on, with a password that must never show up."""
    return {"name": "down", "dsn": f"host=127.0.0.1 port={free_port()} dbname=app user=u "
                                   "password=hunter2 connect_timeout=2"}


def test_endpoints_while_the_database_is_down() -> None:
    with SidecarThread(sidecar_config([_nowhere()])) as sc:
        def down() -> dict[tuple[str, frozenset[tuple[str, str]]], float] | None:
            body = fetch(f"{sc.url}/metrics")[2]
            samples = parse(body.decode())
            return samples if value(samples, "pgsage_target_down_info",
                                    reason="unreachable") == 1 else None

        samples = wait_for(down, 15, "the target reported unreachable")
        assert value(samples, "pgsage_up", target="down") == 0
        assert (value(samples, "pgsage_connection_failures_total") or 0) >= 1
        status, headers, body = fetch(f"{sc.url}/metrics")
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b"hunter2" not in body
        assert fetch(f"{sc.url}/healthz")[0] == 200
        status, _, body = fetch(f"{sc.url}/readyz")
        ready = json.loads(body)
        assert status == 503 and ready["ready"] is False
        assert "refused" in ready["targets"]["down"]["reason"]
        assert "hunter2" not in body.decode()
        status, _, body = fetch(f"{sc.url}/recommendations")
        assert status == 200 and json.loads(body) == {"targets": {"down": None}}
        assert fetch(f"{sc.url}/recommendations?target=down")[0] == 503
        assert fetch(f"{sc.url}/nope")[0] == 404
        # Still up after several failed cycles, and still answering.
        wait_for(lambda: (value(parse(fetch(f"{sc.url}/metrics")[2].decode()),
                                "pgsage_cycle_failures_total", group="activity") or 0) >= 2,
                 15, "failed cycles counted")


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=localhost", "-addext",
                    "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def test_tls_and_basic_auth_on_every_endpoint(certificate: tuple[Path, Path]) -> None:
    cert, key = certificate
    config = sidecar_config([_nowhere()], serve={
        "tls": {"cert": str(cert), "key": str(key)},
        "auth": {"users": {"prometheus": HASH}}})
    context = ssl.create_default_context(cafile=str(cert))
    with SidecarThread(config) as sc:
        base = sc.url.replace("http://", "https://")
        for path in ("/metrics", "/healthz", "/readyz", "/recommendations"):
            status, headers, _ = fetch(base + path, context=context)
            assert status == 401, path
            assert headers["WWW-Authenticate"].startswith("Basic")
            assert fetch(base + path, "prometheus", "wrong", context=context)[0] == 401
            assert fetch(base + path, "nobody", "s3cret", context=context)[0] == 401
            assert fetch(base + path, "prometheus", "s3cret", context=context)[0] in (200, 503)
        with pytest.raises((urllib.error.URLError, OSError, http.client.HTTPException)):
            fetch(sc.url + "/healthz")  # plain HTTP on the TLS port


def test_verified_credentials_are_remembered(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = bcrypt.checkpw

    def counting(password: bytes, hashed: bytes) -> bool:
        calls.append(1)
        return real(password, hashed)

    monkeypatch.setattr(web.bcrypt, "checkpw", counting)
    auth = Authenticator({"prometheus": HASH.encode()})
    header = "Basic " + base64.b64encode(b"prometheus:s3cret").decode()
    assert auth.check(header) and auth.check(header)
    assert len(calls) == 1
    bad = "Basic " + base64.b64encode(b"prometheus:nope").decode()
    assert not auth.check(bad) and not auth.check(bad)
    assert len(calls) == 3  # failures are never cached
    assert not auth.check("Basic !!!") and not auth.check(None) and not auth.check("Bearer x")
    assert Authenticator(None).check(None)


def test_listen_address_in_use_is_one_clear_error() -> None:
    port = free_port()
    first = web.WebServer("127.0.0.1", port, web.App({}, Authenticator(None), None)).start()
    try:
        with pytest.raises(web.ListenError, match=rf"cannot listen on 127.0.0.1:{port}"):
            web.WebServer("127.0.0.1", port, web.App({}, Authenticator(None), None))
    finally:
        first.stop()


def test_bad_certificate_is_a_value_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    with pytest.raises(ValueError, match="cannot use TLS certificate"):
        web.ssl_context(web.TlsConfig(bad, bad))
