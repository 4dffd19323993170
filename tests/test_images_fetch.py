"""Fetcher against a real HTTP server on 127.0.0.1: every failure reason, retries, cache, files."""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from httpserver import Response, http_server_fixture, unused_port  # noqa: F401  (fixture)
from PIL import Image

from tuilabel.errors import TuilabelError
from tuilabel.images import (
    DecodeError,
    Fetcher,
    FetchError,
    default_cache_dir,
    load_for_model,
)

JPEG = {"Content-Type": "image/jpeg"}


def jpeg_bytes(color=(200, 30, 30), size=(40, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=95)
    return buf.getvalue()


@pytest.fixture
def fetcher(tmp_path: Path):
    f = Fetcher(cache_dir=tmp_path / "cache", timeout=(1.0, 0.5), retries=2, backoff=0.01)
    yield f
    f.close()


@pytest.fixture
def nocache():
    f = Fetcher(cache_dir=None, timeout=(1.0, 0.5), retries=2, backoff=0.01)
    yield f
    f.close()


def reason_of(fetcher: Fetcher, target: str) -> str:
    with pytest.raises(FetchError) as info:
        fetcher.fetch(target)
    assert info.value.detail  # every failure says something readable
    return info.value.reason


# -- success, headers, classes -------------------------------------------------------------


def test_fetch_returns_body_and_sends_user_agent(http_server, nocache):
    body = jpeg_bytes()
    url = http_server.route("/a.jpg", Response(200, JPEG, body))
    assert nocache.fetch(url) == body
    (req,) = http_server.requests
    assert req.headers["User-Agent"].startswith("tuilabel/")


def test_fetch_errors_are_not_user_errors():
    assert issubclass(DecodeError, FetchError)
    assert not issubclass(FetchError, TuilabelError)
    err = FetchError("http_404", "HTTP 404 Not Found")
    assert (err.reason, err.detail) == ("http_404", "HTTP 404 Not Found")


def test_load_for_model_gives_float32_hwc(http_server, nocache):
    url = http_server.route("/a.jpg", Response(200, JPEG, jpeg_bytes((10, 200, 10), (64, 48))))
    arr = load_for_model(nocache, url, (24, 32))
    assert arr.shape == (24, 32, 3) and arr.dtype.name == "float32"
    assert abs(arr[..., 1].mean() - 200) < 3 and arr[..., 0].mean() < 15


# -- HTTP failures -------------------------------------------------------------------------


@pytest.mark.parametrize("status", [404, 403, 410, 400, 401])
def test_client_errors_fail_at_once(http_server, nocache, status):
    url = http_server.route("/x.jpg", Response(status, body=b"nope"))
    assert reason_of(nocache, url) == f"http_{status}"
    assert http_server.count("/x.jpg") == 1  # not retried


def test_unknown_path_is_404(http_server, nocache):
    assert reason_of(nocache, http_server.url("/missing.jpg")) == "http_404"


def test_429_retry_after_is_honoured_then_200(http_server, nocache):
    body = jpeg_bytes()
    url = http_server.route(
        "/r.jpg", [Response(429, {"Retry-After": "1"}), Response(200, JPEG, body)]
    )
    start = time.monotonic()
    assert nocache.fetch(url) == body
    assert time.monotonic() - start >= 0.9  # waited as told, not the 0.01 s backoff
    assert http_server.count("/r.jpg") == 2


def test_retry_after_http_date_is_understood(http_server, nocache):
    from email.utils import formatdate

    body = jpeg_bytes()
    when = formatdate(time.time() + 2, usegmt=True)
    url = http_server.route(
        "/d.jpg", [Response(429, {"Retry-After": when}), Response(200, JPEG, body)]
    )
    start = time.monotonic()
    assert nocache.fetch(url) == body
    assert time.monotonic() - start >= 0.5


def test_retry_after_is_capped(http_server):
    body = jpeg_bytes()
    url = http_server.route(
        "/r.jpg", [Response(429, {"Retry-After": "3600"}), Response(200, JPEG, body)]
    )
    with Fetcher(cache_dir=None, retries=1, backoff=0.01, max_retry_after=0.2) as f:
        start = time.monotonic()
        assert f.fetch(url) == body
        assert time.monotonic() - start < 2


def test_503_then_200_is_retried(http_server, nocache):
    body = jpeg_bytes()
    url = http_server.route("/s.jpg", [Response(503), Response(503), Response(200, JPEG, body)])
    assert nocache.fetch(url) == body
    assert http_server.count("/s.jpg") == 3


def test_persistent_5xx_gives_up_after_retries(http_server, nocache):
    url = http_server.route("/s.jpg", Response(500, body=b"boom"))
    assert reason_of(nocache, url) == "http_5xx"
    assert http_server.count("/s.jpg") == 3  # first try + retries=2


def test_429_forever_is_http_429(http_server, nocache):
    url = http_server.route("/r.jpg", Response(429, {"Retry-After": "0"}))
    assert reason_of(nocache, url) == "http_429"
    assert http_server.count("/r.jpg") == 3


def test_slow_response_is_a_timeout(http_server):
    url = http_server.route("/slow.jpg", Response(200, JPEG, jpeg_bytes(), delay=3))
    with Fetcher(cache_dir=None, timeout=(1.0, 0.3), retries=1, backoff=0.01) as f:
        start = time.monotonic()
        assert reason_of(f, url) == "timeout"
        assert time.monotonic() - start < 2.5
    assert http_server.count("/slow.jpg") == 2  # timeouts are retried


def test_refused_port(nocache):
    start = time.monotonic()
    assert reason_of(nocache, f"http://127.0.0.1:{unused_port()}/a.jpg") == "refused"
    assert time.monotonic() - start < 2


def test_dns_failure_is_not_retried():
    # RFC 6761: .invalid never resolves; the resolver answers "Name or service not known".
    with Fetcher(cache_dir=None, retries=3, backoff=1.0) as f:
        start = time.monotonic()
        with pytest.raises(FetchError) as info:
            f.fetch("http://photos.example.invalid/a.jpg")
        assert info.value.reason == "dns"
        assert "photos.example.invalid" in info.value.detail
        assert time.monotonic() - start < 1.0  # a permanent failure: no backoff sleeps


def test_dropped_connection_mid_body_is_connection(http_server, nocache):
    body = jpeg_bytes()
    url = http_server.route("/t.jpg", Response(200, JPEG, body[:100], content_length=len(body)))
    assert reason_of(nocache, url) == "connection"
    assert http_server.count("/t.jpg") == 3


def test_empty_body(http_server, fetcher):
    url = http_server.route("/e.jpg", Response(200, JPEG, b""))
    assert reason_of(fetcher, url) == "empty"
    assert not fetcher.cache_path(url).exists()


def test_oversize_by_content_length(http_server):
    url = http_server.route("/big.jpg", Response(200, JPEG, b"x" * 5000))
    with Fetcher(cache_dir=None, max_bytes=4096, retries=0) as f:
        assert reason_of(f, url) == "too_large"


def test_oversize_streamed_without_content_length(http_server):
    url = http_server.route("/big.jpg", Response(200, JPEG, b"x" * 300_000, content_length=False))
    with Fetcher(cache_dir=None, max_bytes=100_000, retries=0) as f:
        assert reason_of(f, url) == "too_large"
    small = http_server.route("/ok.jpg", Response(200, JPEG, b"y" * 1000, content_length=False))
    with Fetcher(cache_dir=None, max_bytes=100_000, retries=0) as f:
        assert f.fetch(small) == b"y" * 1000


def test_html_body_fails_decoding_as_not_image(http_server, nocache):
    html = b"<!DOCTYPE html><html><body>Sorry, that page does not exist</body></html>"
    url = http_server.route("/p.jpg", Response(200, {"Content-Type": "text/html"}, html))
    with pytest.raises(DecodeError) as info:
        load_for_model(nocache, url, (8, 8))
    assert info.value.reason == "not_image"
    assert "HTML" in info.value.detail


def test_truncated_jpeg_fails_decoding(http_server, nocache):
    body = jpeg_bytes(size=(200, 150))
    url = http_server.route("/t.jpg", Response(200, JPEG, body[: len(body) // 2]))
    with pytest.raises(DecodeError) as info:
        load_for_model(nocache, url, (8, 8))
    assert info.value.reason == "truncated"


def test_png_bomb_served_is_refused(http_server, nocache):
    from test_images_decode import png_header_only

    url = http_server.route("/bomb.png", Response(200, {}, png_header_only(30000, 30000)))
    with pytest.raises(DecodeError) as info:
        load_for_model(nocache, url, (8, 8))
    assert info.value.reason == "decompression_bomb"


# -- redirects and schemes -----------------------------------------------------------------


def test_redirect_is_followed(http_server, fetcher):
    body = jpeg_bytes()
    http_server.route("/real.jpg", Response(200, JPEG, body))
    url = http_server.route("/moved.jpg", Response(302, {"Location": "/real.jpg"}))
    assert fetcher.fetch(url) == body
    assert http_server.count("/real.jpg") == 1
    assert fetcher.cache_path(url).read_bytes() == body  # cached under the URL asked for


def test_redirect_loop(http_server, nocache):
    url = http_server.route("/loop", Response(301, {"Location": "/loop"}))
    assert reason_of(nocache, url) == "redirects"


def test_redirect_to_file_url_is_refused(http_server, nocache, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    url = http_server.route("/evil", Response(302, {"Location": secret.as_uri()}))
    assert reason_of(nocache, url) == "bad_scheme"


@pytest.mark.parametrize(
    "target",
    ["ftp://example.com/a.jpg", "javascript:alert(1)", "data:image/png;base64,AAAA", "gopher://x"],
)
def test_other_schemes_are_refused(nocache, target):
    assert reason_of(nocache, target) == "bad_scheme"


# -- local files ---------------------------------------------------------------------------


def test_local_absolute_relative_and_file_urls(tmp_path, monkeypatch, nocache):
    body = jpeg_bytes()
    photo = tmp_path / "my photo.jpg"
    photo.write_bytes(body)
    assert nocache.fetch(str(photo)) == body
    assert nocache.fetch(photo.as_uri()) == body  # file:///.../my%20photo.jpg
    assert nocache.fetch("file://localhost" + photo.as_uri()[len("file://") :]) == body
    monkeypatch.chdir(tmp_path)
    assert nocache.fetch("my photo.jpg") == body
    assert nocache.fetch("./my photo.jpg") == body


def test_local_file_with_colon_in_name(tmp_path, monkeypatch, nocache):
    monkeypatch.chdir(tmp_path)
    Path("img:1.jpg").write_bytes(b"abc")
    assert nocache.fetch("img:1.jpg") == b"abc"


def test_local_failures(tmp_path, nocache):
    assert reason_of(nocache, str(tmp_path / "nope.jpg")) == "not_found"
    assert reason_of(nocache, (tmp_path / "nope.jpg").as_uri()) == "not_found"
    assert reason_of(nocache, str(tmp_path)) == "io"
    (tmp_path / "empty.jpg").write_bytes(b"")
    assert reason_of(nocache, str(tmp_path / "empty.jpg")) == "empty"
    assert reason_of(nocache, "file://otherhost/etc/hosts") == "bad_scheme"


def test_local_file_over_the_cap(tmp_path):
    (tmp_path / "big.jpg").write_bytes(b"z" * 2000)
    with Fetcher(cache_dir=None, max_bytes=1000) as f:
        assert reason_of(f, str(tmp_path / "big.jpg")) == "too_large"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads any file")
def test_unreadable_local_file(tmp_path, nocache):
    p = tmp_path / "locked.jpg"
    p.write_bytes(b"abc")
    p.chmod(0)
    assert reason_of(nocache, str(p)) == "io"


# -- cache ---------------------------------------------------------------------------------


def test_cache_hit_skips_the_network(http_server, tmp_path):
    body = jpeg_bytes()
    url = http_server.route("/c.jpg", Response(200, JPEG, body))
    with Fetcher(cache_dir=tmp_path / "cache") as f:
        assert f.fetch(url) == body
    with Fetcher(cache_dir=tmp_path / "cache") as f:  # a new process, same cache
        assert f.fetch(url) == body
        assert f.fetch(url) == body
    assert http_server.count("/c.jpg") == 1
    digest = hashlib.sha256(url.encode()).hexdigest()
    assert (tmp_path / "cache" / digest[:2] / digest).read_bytes() == body
    leftovers = [p for p in (tmp_path / "cache").rglob("*") if p.name.startswith(".tmp")]
    assert leftovers == []


def test_cache_disabled(http_server, nocache):
    url = http_server.route("/c.jpg", Response(200, JPEG, jpeg_bytes()))
    nocache.fetch(url)
    nocache.fetch(url)
    assert http_server.count("/c.jpg") == 2
    assert nocache.cache_path(url) is None


def test_failures_are_not_cached(http_server, fetcher):
    body = jpeg_bytes()
    url = http_server.route("/f.jpg", [Response(404), Response(200, JPEG, body)])
    assert reason_of(fetcher, url) == "http_404"
    assert fetcher.fetch(url) == body  # the next run tries again


def test_cache_key_is_a_hash_not_the_url_path(http_server, tmp_path):
    cache = tmp_path / "deep" / "cache"
    body = jpeg_bytes()
    http_server.route("/x/../../../../escape.jpg", Response(200, JPEG, body))
    url = http_server.url("/x/../../../../escape.jpg")
    with Fetcher(cache_dir=cache) as f:
        # requests normalises dot segments as browsers do; either way the body is served.
        http_server.route("/escape.jpg", Response(200, JPEG, body))
        assert f.fetch(url) == body
        path = f.cache_path(url)
    assert path.parent.parent == cache
    assert path.name == hashlib.sha256(url.encode()).hexdigest()
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [path]


def test_empty_cache_file_is_a_miss(http_server, fetcher):
    body = jpeg_bytes()
    url = http_server.route("/c.jpg", Response(200, JPEG, body))
    path = fetcher.cache_path(url)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"")  # as left by a crash between create and write
    assert fetcher.fetch(url) == body
    assert path.read_bytes() == body


def test_unwritable_cache_does_not_fail_fetches(http_server, tmp_path):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    url = http_server.route("/c.jpg", Response(200, JPEG, b"abc"))
    with Fetcher(cache_dir=blocker / "cache") as f:
        assert f.fetch(url) == b"abc"
        assert f.fetch(url) == b"abc"
    assert http_server.count("/c.jpg") == 2


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("TUILABEL_CACHE", str(tmp_path / "t"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert default_cache_dir() == tmp_path / "t"
    monkeypatch.delenv("TUILABEL_CACHE")
    assert default_cache_dir() == tmp_path / "x" / "tuilabel" / "images"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "tuilabel" / "images"


# -- threads -------------------------------------------------------------------------------


def test_many_threads_share_one_fetcher(http_server, tmp_path):
    bodies = {f"/p{i}.jpg": jpeg_bytes((i * 5 % 256, 0, 0)) for i in range(40)}
    for path, body in bodies.items():
        http_server.route(path, Response(200, JPEG, body, delay=0.02))
    http_server.route("/gone.jpg", Response(410))
    urls = [http_server.url(p) for p in bodies] * 2 + [http_server.url("/gone.jpg")] * 5

    def get(url):
        try:
            return url, fetcher.fetch(url), threading.get_ident()
        except FetchError as exc:
            return url, exc.reason, threading.get_ident()

    with Fetcher(cache_dir=tmp_path / "c", pool_size=16) as fetcher:
        with ThreadPoolExecutor(16) as pool:
            results = list(pool.map(get, urls))
    assert len({r[2] for r in results}) > 1
    for url, got, _ in results:
        path = "/" + url.rsplit("/", 1)[1]
        assert got == bodies.get(path, "http_410")
    assert sum(http_server.count(p) for p in bodies) <= 80


# -- hardening -----------------------------------------------------------------------------


def test_dripping_server_hits_the_overall_deadline(http_server):
    body = b"d" * 40
    url = http_server.route("/drip", Response(200, {}, body, chunk_size=1, chunk_delay=0.1))
    with Fetcher(cache_dir=None, timeout=(1.0, 0.5), max_seconds=0.6, retries=2) as f:
        start = time.monotonic()
        assert reason_of(f, url) == "timeout"
        assert time.monotonic() - start < 2
    assert http_server.count("/drip") == 1  # a slow whole download is not retried
    quick = http_server.route("/quick", Response(200, {}, body, chunk_size=10, chunk_delay=0.01))
    with Fetcher(cache_dir=None, max_seconds=5) as f:
        assert f.fetch(quick) == body


@pytest.mark.parametrize(
    "url", ["http://exa mple.com/x.jpg", "http://[::1/x.jpg", "http://", "http://host:99999/a"]
)
def test_malformed_urls(nocache, url):
    assert reason_of(nocache, url) == "bad_url"


def test_redirect_status_without_location(http_server, nocache):
    url = http_server.route("/r", Response(302, {}, b"moved somewhere"))
    assert reason_of(nocache, url) == "http_302"


def test_no_content(http_server, nocache):
    url = http_server.route("/n", Response(204))
    assert reason_of(nocache, url) == "empty"


def test_failure_detail_does_not_repeat_the_query_string(http_server, nocache):
    body = jpeg_bytes()
    http_server.route("/t.jpg", Response(200, JPEG, body[:100], content_length=len(body)))
    with pytest.raises(FetchError) as info:
        nocache.fetch(http_server.url("/t.jpg?token=s3cr3t"))
    assert info.value.reason == "connection"
    assert "s3cr3t" not in str(info.value) and "127.0.0.1" in info.value.detail


def test_gzip_encoded_body_is_decoded_and_capped_after_decoding(http_server):
    import gzip

    body = jpeg_bytes()
    url = http_server.route(
        "/g.jpg", Response(200, {"Content-Encoding": "gzip"}, gzip.compress(body))
    )
    bomb = http_server.route(
        "/bomb", Response(200, {"Content-Encoding": "gzip"}, gzip.compress(b"\0" * 5_000_000))
    )
    with Fetcher(cache_dir=None, max_bytes=1_000_000, retries=0) as f:
        assert f.fetch(url) == body
        assert reason_of(f, bomb) == "too_large"  # 5 kB on the wire, 5 MB decoded


def test_module_imports_nothing_heavy():
    import subprocess
    import sys

    code = (
        "import sys, tuilabel.images as m; m.Fetcher(cache_dir=None).close();"
        "heavy = [n for n in ('tensorflow', 'keras', 'textual', 'typer') if n in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_connections_are_kept_alive_and_reused(http_server, nocache):
    for i in range(10):
        http_server.route(f"/k{i}.jpg", Response(200, JPEG, jpeg_bytes()))
    for i in range(10):
        nocache.fetch(http_server.url(f"/k{i}.jpg"))
    assert len(http_server.requests) == 10
    assert http_server.connections == 1


def test_undecodable_body_is_dropped_from_the_cache(http_server, fetcher):
    body = jpeg_bytes()
    html = b"<html>rate limited</html>"
    url = http_server.route(
        "/x.jpg", [Response(200, {"Content-Type": "text/html"}, html), Response(200, JPEG, body)]
    )
    with pytest.raises(DecodeError):
        load_for_model(fetcher, url, (8, 8))
    assert not fetcher.cache_path(url).exists()
    assert load_for_model(fetcher, url, (8, 8)).shape == (8, 8, 3)  # fetched afresh
    assert http_server.count("/x.jpg") == 2
    assert fetcher.cache_path(url).read_bytes() == body
