"""Fetching and decoding photos: http(s), file:// and local paths, an on-disk cache, limits.

Why one module: `label` (thousands of photos through a thread pool) and `score` (one photo at a
time in the TUI) must fail the same way on the same photo. Every per-photo problem is a
`FetchError` (or its subclass `DecodeError`) carrying a short, stable `reason` token that the
store records and the summary counts; these are data, not user errors, so they are deliberately
*not* `TuilabelError`s and must never stop a run.

Reason tokens (`FetchError.reason`):

    fetching   dns, refused, timeout, connection (reset, dropped mid-body), redirects (a loop
               or too many), http_<code> (http_404, http_403, http_410, http_429, http_302
               without Location...; any 5xx is http_5xx), too_large, empty (0 bytes or 204),
               bad_scheme (not http/https/file, also via a redirect), bad_url (malformed),
               not_found (local file missing), io (local file unreadable, a directory)
    decoding   not_image, truncated (also corrupt data), decompression_bomb (too many pixels,
               or a PNG text or ICC chunk that inflates past Pillow's limit), unsupported (an
               image format Pillow cannot read, such as HEIC or JPEG XL, named in the detail;
               a mode or codec Pillow cannot convert; an unexpected Pillow error), empty

`decode_image` raises only DecodeError (besides MemoryError and interrupts), `Fetcher.fetch` only
FetchError, so callers can record `exc.reason` / `exc.detail` and move on. Details name the
host, never the URL's query string. Warnings Pillow issues while decoding (corrupt EXIF, say)
are never printed: `decode_image` hands them to its caller to count.

Sizes follow Keras: `size` is `(height, width)`, like `keras.utils.load_img(target_size=...)`,
and resizing is nearest-neighbour, as `load_img` does by default (checked against Keras 3.15's
`keras/src/utils/image_utils.py`). By default a model is fed exactly what the Keras
documentation's snippet feeds it (`img_to_array(load_img(path, target_size=size))`), bit for bit
(tests/test_images_keras.py checks it on real JPEGs). Differences from `load_img`, on purpose,
where Keras' result is not the photo a person sees: EXIF orientation is applied, transparency
is composited on white in every mode (Keras drops it): an alpha band, a palette's alpha, or a
transparent colour (PNG tRNS) in 1/2/4/8/16-bit greyscale and RGB; 16-bit greyscale is scaled
to 8 bits (Pillow clips it) unless it holds 8-bit values.

`fast=True` is the explicit faster decode: a JPEG at least twice the target size is decoded at a
reduced DCT scale with `Image.draft()` first (libjpeg's 1/2, 1/4 or 1/8 scaling), which changes
the pixels the model sees (by up to 228 levels on most pixels of some photos) and so, sometimes,
its answer; `scripts/bench_label.py` reports its speed and its top-1 agreement with the default.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import random
import re
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import TextIO
from urllib.parse import unquote, urlsplit

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tuilabel import __version__

log = logging.getLogger(__name__)

# Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; tuilabel treats the warning as the
# error it announces. The filter is process-wide (warnings filters are global and
# `catch_warnings` is not thread-safe), and `decode_image` re-checks the pixel count itself so
# that the limit holds even where something resets the filters (pytest does, per test).
warnings.filterwarnings("error", category=Image.DecompressionBombWarning)

MiB = 1024 * 1024
DEFAULT_TIMEOUT = (5.0, 20.0)
DEFAULT_MAX_BYTES = 20 * MiB
DEFAULT_RETRIES = 3
DEFAULT_BACKOFF = 0.5
MAX_RETRY_AFTER = 30.0
DEFAULT_POOL_SIZE = 32
DEFAULT_USER_AGENT = f"tuilabel/{__version__} (photo labeling for research; python-requests)"
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_RETRY_STATUS = frozenset({408, 429, 500, 502, 503, 504})


class FetchError(Exception):
    """One photo could not be fetched: `reason` is a short token, `detail` a readable line.

    Not a TuilabelError: a failed photo is recorded with its reason and skipped.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class DecodeError(FetchError):
    """The bytes arrived but are not a usable image (not_image, truncated, ...)."""


def default_cache_dir() -> Path:
    """$TUILABEL_CACHE, else $XDG_CACHE_HOME/tuilabel/images, else ~/.cache/tuilabel/images."""
    if os.environ.get("TUILABEL_CACHE"):
        return Path(os.environ["TUILABEL_CACHE"]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg:
        return Path(xdg).expanduser() / "tuilabel" / "images"
    try:
        home = Path.home()
    except RuntimeError:  # no HOME and no passwd entry (some containers)
        return Path(tempfile.gettempdir()) / f"tuilabel-{os.getuid()}" / "images"
    return home / ".cache" / "tuilabel" / "images"


_DEFAULT = object()


class Fetcher:
    """Fetch photo bytes from http(s) URLs, file:// URLs and local paths; thread-safe.

    One pooled `requests.Session` is shared by all threads (`pool_size` connections per host,
    size it to the number of fetching threads). HTTP failures that may pass (connection errors,
    timeouts, temporary DNS failure, 408/429/5xx) are retried `retries` times with exponential
    backoff and jitter, honouring Retry-After (capped at `max_retry_after` seconds). Bodies over
    `max_bytes` are refused from Content-Length or while streaming; a download still running
    after `max_seconds` (a server dripping bytes just under the read timeout) is a timeout,
    not retried. Only http and https are followed, redirects included (at most
    `max_redirects`). Successful (2xx, non-empty) HTTP bodies are cached under `cache_dir` in
    `<sha256(url)[:2]>/<sha256(url)>`, written atomically, so a second run needs no network;
    local files are never cached. `cache_dir=None` disables the cache; an unwritable cache
    logs one warning and fetching carries on without it.

    Worst case for one dead server: (retries + 1) x read timeout plus backoff, per photo.
    """

    def __init__(
        self,
        *,
        cache_dir: Path | str | None | object = _DEFAULT,
        timeout: tuple[float, float] | float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
        backoff: float = DEFAULT_BACKOFF,
        max_bytes: int = DEFAULT_MAX_BYTES,
        user_agent: str = DEFAULT_USER_AGENT,
        pool_size: int = DEFAULT_POOL_SIZE,
        max_retry_after: float = MAX_RETRY_AFTER,
        max_redirects: int = 5,
        max_seconds: float = 120.0,
    ) -> None:
        import requests
        from requests.adapters import HTTPAdapter

        if cache_dir is _DEFAULT:
            cache_dir = default_cache_dir()
        self.cache_dir: Path | None = (
            Path(cache_dir) if cache_dir is not None else None  # type: ignore[arg-type]
        )
        self.timeout = timeout if isinstance(timeout, tuple) else (timeout, timeout)
        self.retries = max(0, retries)
        self.backoff = backoff
        self.max_bytes = max_bytes
        self.max_retry_after = max_retry_after
        self.max_seconds = max_seconds
        self._session = requests.Session()
        self._session.headers["User-Agent"] = user_agent
        self._session.headers["Accept"] = "image/*,*/*;q=0.5"
        self._session.max_redirects = max_redirects
        # Retries are ours (they need our reasons and Retry-After cap), so urllib3's are off.
        adapter = HTTPAdapter(pool_connections=pool_size, pool_maxsize=pool_size, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._cache_warned = False
        self._lock = threading.Lock()

    # -- public ---------------------------------------------------------------------------
    def fetch(self, url_or_path: str) -> bytes:
        """Return the bytes at `url_or_path`, or raise FetchError with a reason token."""
        target = url_or_path.strip()
        if not target:
            raise FetchError("not_found", "empty URL or path")
        match = _SCHEME.match(target)
        scheme = match.group(1).lower() if match else ""
        if scheme in ("http", "https"):
            return self._fetch_http(target)
        if scheme == "file":
            return self._read_local(_file_url_path(target))
        if scheme and not os.path.exists(target):
            raise FetchError("bad_scheme", f"only http, https and file URLs are fetched: {scheme}:")
        return self._read_local(Path(target))

    def cache_path(self, url: str) -> Path | None:
        """Where the cached body of `url` lives (whether or not it exists yet)."""
        if self.cache_dir is None:
            return None
        digest = hashlib.sha256(url.encode("utf-8", "surrogatepass")).hexdigest()
        return self.cache_dir / digest[:2] / digest

    def forget(self, url: str) -> None:
        """Drop `url`'s cached body, if any (a body that would not decode: fetch it afresh)."""
        path = self.cache_path(url)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()

    def close(self) -> None:
        """Close pooled connections. The Fetcher must not be used afterwards."""
        self._session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- local files ----------------------------------------------------------------------
    def _read_local(self, path: Path) -> bytes:
        path = path.expanduser()
        if not path.is_absolute():
            path = Path.cwd() / path
        try:
            with path.open("rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size > self.max_bytes:
                    raise FetchError("too_large", f"{size} bytes > {self.max_bytes}: {path}")
                data = f.read(self.max_bytes + 1)
        except FileNotFoundError as exc:
            raise FetchError("not_found", f"no such file: {path}") from exc
        except IsADirectoryError as exc:
            raise FetchError("io", f"is a directory: {path}") from exc
        except OSError as exc:
            raise FetchError("io", f"{exc.strerror or exc}: {path}") from exc
        except ValueError as exc:  # "embedded null byte": a path no file can have
            raise FetchError("not_found", f"{exc}: {path!s:.200}") from exc
        if len(data) > self.max_bytes:
            raise FetchError("too_large", f"more than {self.max_bytes} bytes: {path}")
        if not data:
            raise FetchError("empty", f"0 bytes: {path}")
        return data

    # -- http -----------------------------------------------------------------------------
    def _fetch_http(self, url: str) -> bytes:
        cached = self._cache_get(url)
        if cached is not None:
            return cached
        attempt = 0
        while True:
            try:
                data = self._get_once(url)
            except _Retryable as exc:
                if attempt >= self.retries:
                    raise exc.error from exc.__cause__
                time.sleep(self._delay(attempt, exc.retry_after))
                attempt += 1
                continue
            self._cache_put(url, data)
            return data

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        base = self.backoff * (2**attempt)
        return min(base * (0.5 + random.random()), self.max_retry_after)

    def _get_once(self, url: str) -> bytes:
        import requests
        import urllib3

        started = time.monotonic()
        try:
            with self._session.get(url, timeout=self.timeout, stream=True) as resp:
                status = resp.status_code
                if not 200 <= status < 300:
                    reason = "http_5xx" if status >= 500 else f"http_{status}"
                    error = FetchError(reason, f"HTTP {status} {resp.reason or ''}".rstrip())
                    if status in _RETRY_STATUS:
                        raise _Retryable(error, _retry_after(resp.headers.get("Retry-After")))
                    raise error
                length = resp.headers.get("Content-Length")
                if length and length.isdigit() and int(length) > self.max_bytes:
                    raise FetchError("too_large", f"Content-Length {length} > {self.max_bytes}")
                chunks: list[bytes] = []
                total = 0
                for chunk in _body_chunks(resp):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise FetchError("too_large", f"body over {self.max_bytes} bytes")
                    chunks.append(chunk)
                    if time.monotonic() - started > self.max_seconds:
                        raise FetchError(
                            "timeout", f"download still running after {self.max_seconds:g} s"
                        )
        except (FetchError, _Retryable):
            raise
        except requests.exceptions.InvalidSchema as exc:
            raise FetchError("bad_scheme", f"redirected to an unsupported URL: {exc}") from exc
        except requests.exceptions.TooManyRedirects as exc:
            raise FetchError("redirects", "too many redirects") from exc
        except (
            requests.exceptions.InvalidURL,
            requests.exceptions.MissingSchema,
            requests.exceptions.URLRequired,
            ValueError,  # urllib3's LocationParseError, UnicodeError from IDNA, bad ports
        ) as exc:
            raise FetchError("bad_url", f"{type(exc).__name__}: {_short(exc)}") from exc
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as exc:
            reason, retry = _classify_network_error(exc)
            error = FetchError(reason, self._network_detail(reason, url, exc))
            if retry:
                raise _Retryable(error, None) from exc
            raise error from exc
        if total == 0:
            raise FetchError("empty", "0-byte body")
        return b"".join(chunks)

    def _network_detail(self, reason: str, url: str, exc: BaseException) -> str:
        import requests

        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = parts.port or (443 if parts.scheme == "https" else 80)
        if reason == "dns":
            return f"cannot resolve host {host}"
        if reason == "refused":
            return f"connection refused by {host}:{port}"
        if reason == "timeout":
            if isinstance(exc, requests.exceptions.ConnectTimeout):
                return f"no connection to {host}:{port} within {self.timeout[0]:g} s"
            return f"{host}:{port} sent nothing for {self.timeout[1]:g} s"
        # Name the innermost cause ("Connection reset by peer", "IncompleteRead(...)"), not
        # requests' wrapper, whose text repeats the URL (and whatever its query string holds).
        inner = list(_causes(exc))[-1]
        return f"{host}:{port}: {type(inner).__name__}: {_short(inner)}"

    # -- cache ----------------------------------------------------------------------------
    def _cache_get(self, url: str) -> bytes | None:
        path = self.cache_path(url)
        if path is None:
            return None
        try:
            data = path.read_bytes()
        except OSError:
            return None
        # An empty file can only come from a crash between create and write: treat as a miss.
        if not data or len(data) > self.max_bytes:
            return None
        return data

    def _cache_put(self, url: str, data: bytes) -> None:
        path = self.cache_path(url)
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                os.replace(tmp, path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
        except OSError as exc:
            with self._lock:
                if not self._cache_warned:
                    self._cache_warned = True
                    log.warning("image cache disabled, cannot write %s: %s", path.parent, exc)


class _Retryable(Exception):
    """Internal: a failure worth another attempt; carries the FetchError to raise at the end."""

    def __init__(self, error: FetchError, retry_after: float | None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _body_chunks(resp) -> Iterator[bytes]:
    """The (decoded) body in pieces as they arrive, so that deadlines are checked between them.

    `iter_content` waits for a full chunk; urllib3's `read1` returns whatever has arrived.
    """
    read1 = getattr(resp.raw, "read1", None)
    if read1 is None:  # urllib3 < 2.3
        yield from resp.iter_content(chunk_size=16 * 1024)
        return
    while chunk := read1(64 * 1024, decode_content=True):
        yield chunk


def _file_url_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise FetchError("bad_scheme", f"file URL on another host: {parts.netloc}")
    return Path(unquote(parts.path))


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _causes(exc: BaseException):
    """Walk an exception, its causes/contexts and urllib3's `.reason` chain."""
    seen: set[int] = set()
    stack: list[BaseException] = [exc]
    while stack:
        cur = stack.pop()
        if id(cur) in seen:
            continue
        seen.add(id(cur))
        yield cur
        for nxt in (cur.__cause__, cur.__context__, getattr(cur, "reason", None)):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        stack.extend(a for a in cur.args if isinstance(a, BaseException))


def _classify_network_error(exc: BaseException) -> tuple[str, bool]:
    """(reason, worth retrying) for a requests exception.

    A name that does not exist (EAI_NONAME) will not exist in a second either, so it is not
    retried; a resolver that is temporarily failing (EAI_AGAIN) is.
    """
    import requests
    import urllib3
    from urllib3.exceptions import NameResolutionError

    causes = list(_causes(exc))
    gai = [c for c in causes if isinstance(c, socket.gaierror)]
    if gai or any(isinstance(c, NameResolutionError) for c in causes):
        return "dns", any(c.errno == socket.EAI_AGAIN for c in gai)
    if any(
        isinstance(c, ConnectionRefusedError)
        or (isinstance(c, OSError) and c.errno == errno.ECONNREFUSED)
        for c in causes
    ):
        return "refused", True
    if isinstance(exc, requests.exceptions.Timeout) or any(
        isinstance(c, (socket.timeout, TimeoutError, urllib3.exceptions.TimeoutError))
        for c in causes
    ):
        return "timeout", True
    return "connection", True


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 300 else text[:297] + "..."


# -- decoding ---------------------------------------------------------------------------------

_WHITE = (255, 255, 255)

#: Pillow's words for a compressed chunk that inflates past its limit (PNG zTXt/iTXt/iCCP), the
#: decompression bomb that is not about pixels.
_BOMB_WORDS = ("decompressed data too large", "too much memory used in text chunks")

#: Words of Pillow errors that mean "this format or codec cannot be read here".
_UNSUPPORTED_WORDS = ("not available", "not supported", "ghostscript", "handler",
                      "unsupported", "cannot identify")

#: Image formats Pillow may not read, by their first bytes: (test, name, Pillow's id for the
#: format when a plugin may provide it, what to do).
_UNREADABLE_FORMATS: tuple[tuple[Callable[[bytes], bool], str, str | None, str], ...] = (
    (lambda d: d[4:8] == b"ftyp" and d[8:12] in (b"heic", b"heix", b"hevc", b"hevx", b"heim",
                                                  b"heis", b"mif1", b"msf1"),
     "HEIF/HEIC", "HEIF", "convert it to JPEG (or install pillow-heif)"),
    (lambda d: d[4:8] == b"ftyp" and d[8:12] in (b"avif", b"avis"),
     "AVIF", "AVIF", "this Pillow lacks libavif; install a Pillow wheel with AVIF support"),
    (lambda d: d.startswith((b"\xff\x0a", b"\x00\x00\x00\x0cJXL \r\n\x87\n")),
     "JPEG XL", "JXL", "convert it to JPEG or PNG (or install pillow-jxl-plugin)"),
    (lambda d: d.startswith(b"%PDF"), "PDF", None, "render its pages to PNG first"),
    (lambda d: b"<svg" in d[:2048].lower(), "SVG", None, "render it to PNG first"),
)


def _unreadable_format(data: bytes) -> tuple[str, str] | None:
    """(format name, what to do) for an image format this Pillow cannot read, known by its
    bytes; (name, "") when Pillow has the format's plugin (so the data must be damaged)."""
    for test, name, pillow_id, todo in _UNREADABLE_FORMATS:
        if test(data):
            if pillow_id is not None:
                Image.init()
                if pillow_id in Image.OPEN:
                    return name, ""
            return name, todo
    return None


def _is_bomb(exc: BaseException) -> bool:
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return True
    return isinstance(exc, (ValueError, OSError)) and any(
        w in str(exc).lower() for w in _BOMB_WORDS)


# Warnings raised while decoding are collected per thread instead of printed: Pillow warns on
# corrupt EXIF and the like, and `label` counts these in its summary (the TUI must not print
# either). `warnings.catch_warnings` is process-wide and not thread-safe, so one hook on
# `warnings.showwarning` sends each warning to the list of the thread that raised it, and lets
# every other warning through to whatever showed warnings before.
_capture = threading.local()
_hook_lock = threading.Lock()
_shown_before = warnings.showwarning


def _collect_or_show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                     file: TextIO | None = None, line: str | None = None) -> None:
    sink = getattr(_capture, "sink", None)
    if sink is not None:
        sink.append(f"{category.__name__}: {_first_sentence(str(message))}")
        return
    _shown_before(message, category, filename, lineno, file, line)


def _first_sentence(text: str) -> str:
    """'Corrupt EXIF data.  Expecting to read 12 bytes but only got 2.' -> 'Corrupt EXIF
    data' (the part that is the same from photo to photo, for counting)."""
    head = text.split(". ", 1)[0].strip().rstrip(".")
    return head[:80] or "warning"


def _hook_warnings() -> None:
    """Install the collecting hook (again, if something such as pytest swapped it out), with
    Pillow's warnings shown every time (so that every photo's are counted) and the
    decompression-bomb warning still an error."""
    global _shown_before
    if warnings.showwarning is _collect_or_show:
        return
    with _hook_lock:
        if warnings.showwarning is _collect_or_show:
            return
        _shown_before = warnings.showwarning
        warnings.showwarning = _collect_or_show
        warnings.filterwarnings("always", module=r"PIL(\.|$)")
        warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


def decode_image(
    data: bytes, *, size: tuple[int, int] | None = None, fast: bool = False,
    warned: list[str] | None = None,
) -> Image.Image:
    """Decode `data` into an RGB PIL image, optionally resized to `size` = (height, width).

    Applies EXIF orientation, uses the first frame of animations, converts CMYK, palette,
    16-bit, greyscale and every other mode Pillow opens to 8-bit RGB, composites transparency
    on white, and refuses decompression bombs (over Pillow's `Image.MAX_IMAGE_PIXELS`, or a
    chunk inflating past Pillow's text limit). With `size`, the image is resized
    nearest-neighbour exactly to `size`, as `keras.utils.load_img(target_size=size)` does; with
    `fast` too, a JPEG is first decoded at a reduced DCT scale (`Image.draft`), which is faster
    and gives other pixels. Warnings raised meanwhile (by Pillow) are appended to `warned` as
    'Category: text', never printed. Raises DecodeError.
    """
    _hook_warnings()
    sink: list[str] = []
    _capture.sink = sink
    try:
        return _decode(data, size, fast)
    finally:
        _capture.sink = None
        if sink:
            if warned is not None:
                warned.extend(sink)
            else:
                log.debug("warnings while decoding: %s", "; ".join(sink))


def _decode(data: bytes, size: tuple[int, int] | None, fast: bool) -> Image.Image:
    if not data:
        raise DecodeError("empty", "0 bytes")
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError as exc:
        unreadable = _unreadable_format(data)
        if unreadable is not None:
            name, todo = unreadable
            if not todo:  # a format this Pillow reads: the file is damaged
                raise DecodeError("truncated", f"{name} image Pillow could not read (damaged?)"
                                  ) from exc
            raise DecodeError("unsupported", f"{name} image: Pillow cannot read it; {todo}"
                              ) from exc
        raise DecodeError("not_image", _describe_non_image(data)) from exc
    except (OSError, EOFError, SyntaxError, ValueError, RuntimeError) as exc:
        # (RuntimeError: libavif's "Failed to decode image" on damaged AVIF)
        if _is_bomb(exc):
            raise DecodeError("decompression_bomb", str(exc)) from exc
        raise DecodeError("truncated", f"cannot read header: {exc}") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise DecodeError("decompression_bomb", str(exc)) from exc
    except (KeyError, TypeError, IndexError, AttributeError) as exc:
        raise DecodeError("unsupported", f"{type(exc).__name__}: {exc}") from exc
    try:
        result = _to_rgb(img, size, fast)
    except BaseException as exc:
        img.close()
        error = _decode_failure(img, exc)
        if error is exc:
            raise
        raise error from exc
    if result is not img:
        img.close()
    return result


def _decode_failure(img: Image.Image, exc: BaseException) -> BaseException:
    """The DecodeError for an exception raised while loading pixels (others pass through)."""
    if isinstance(exc, DecodeError):
        return exc
    if _is_bomb(exc):
        return DecodeError("decompression_bomb", f"{img.format}: {exc}")
    if isinstance(exc, (OSError, EOFError, SyntaxError, ValueError, IndexError, RuntimeError)):
        message = str(exc)
        if any(w in message.lower() for w in _UNSUPPORTED_WORDS):
            return DecodeError("unsupported", f"{img.format} {img.mode}: {message}")
        return DecodeError("truncated", f"{img.format}: {message}")
    if isinstance(exc, Exception) and not isinstance(exc, MemoryError):
        # A plugin tripping over odd data (KeyError, TypeError...) is this photo's problem.
        return DecodeError("unsupported", f"{img.format} {img.mode}: {type(exc).__name__}: {exc}")
    return exc


def _to_rgb(img: Image.Image, size: tuple[int, int] | None, fast: bool = False) -> Image.Image:
    width, height = img.size
    limit = Image.MAX_IMAGE_PIXELS
    if limit is not None and width * height > limit:
        raise DecodeError(
            "decompression_bomb", f"{width}x{height} = {width * height} pixels > {limit}"
        )
    if getattr(img, "is_animated", False):
        img.seek(0)
    key = _transparent_key(img)  # before the pixels are loaded: it needs the tile's raw mode
    if img.format != "JPEG":
        # PNG's getexif() loads the pixels (its eXIf chunk may follow them): load them here,
        # where a failure (truncated, a text-chunk bomb after IDAT) is the image's, not EXIF's.
        img.load()
    orientation = _orientation(img)
    if fast and size is not None and img.format == "JPEG":
        th, tw = size
        if orientation in (5, 6, 7, 8):  # rotated by 90 degrees: the target is transposed
            th, tw = tw, th
        img.draft("RGB" if img.mode == "RGB" else None, (tw, th))
    img.load()
    if orientation not in (None, 1):
        try:
            img = ImageOps.exif_transpose(img)
        except Exception as exc:  # a damaged EXIF block must not cost the photo
            log.debug("ignoring EXIF orientation: %s", exc)
    rgb = _convert_rgb(img, key)
    if size is not None:
        th, tw = size
        if rgb.size != (tw, th):
            rgb = rgb.resize((tw, th), Image.Resampling.NEAREST)
    return rgb


def _orientation(img: Image.Image) -> int | None:
    try:
        value = img.getexif().get(0x0112)
    except Exception:
        return None
    return value if isinstance(value, int) else None


def _transparent_key(img: Image.Image) -> int | tuple[int, ...] | None:
    """The colour marked transparent (`transparency` in info, from PNG's tRNS) in the units of
    the decoded pixels, or None. Pillow scales PNG's 1, 2 and 4-bit greys up to 8 bits and its
    16-bit RGB down to 8 but leaves the key as stored, so the key is scaled the same way (for
    16-bit RGB only the high byte can be compared). Palette images carry alpha in the palette."""
    key = img.info.get("transparency")
    if img.mode in ("P", "PA") or not isinstance(key, (int, tuple)):
        return None
    tile = getattr(img, "tile", None)  # (an ImageFile's, before it is loaded)
    args = tile[0].args if tile else None
    rawmode = args if isinstance(args, str) else (
        args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else "")
    if isinstance(key, int) and img.mode == "L" and rawmode in ("L;1", "L;2", "L;4"):
        return key * (255 // (2 ** int(rawmode[2]) - 1))
    if isinstance(key, tuple) and rawmode.startswith(("RGB;16", "RGBX;16")):
        return tuple(v >> 8 for v in key)
    return key


def _key_alpha(img: Image.Image, key: int | tuple[int, ...]) -> Image.Image | None:
    """An 'L' mask: 0 where a pixel has the transparent colour `key`, else 255."""
    arr = np.asarray(img)
    if img.mode == "1":
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 3:
        if not isinstance(key, tuple) or len(key) < 3:
            return None
        clear = (arr[..., :3] == np.asarray(key[:3], dtype=arr.dtype)).all(axis=-1)
    else:
        if isinstance(key, tuple):
            return None
        clear = arr == key
    if not clear.any():
        return None
    return Image.fromarray(np.where(clear, 0, 255).astype(np.uint8), "L")


def _convert_rgb(img: Image.Image, key: int | tuple[int, ...] | None = None) -> Image.Image:
    """8-bit RGB, transparency composited on white whatever carries it: an alpha band
    (premultiplied too), a palette's alpha, or the transparent colour `key`."""
    mode = img.mode
    if mode == "RGB" and key is None:
        return img.copy() if img.readonly else img
    if mode in ("RGBa", "La"):  # premultiplied: undo it before compositing
        img = img.convert({"RGBa": "RGBA", "La": "LA"}[mode])
        mode = img.mode
    alpha: Image.Image | None = None
    if mode == "P" and ("transparency" in img.info or (
            img.palette is not None and img.palette.mode == "RGBA")):
        img = img.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA"):
        alpha = img.getchannel("A")
    elif key is not None:
        alpha = _key_alpha(img, key)
    rgb = _opaque_rgb(img)
    if alpha is None:
        return rgb
    background = Image.new("RGB", rgb.size, _WHITE)
    background.paste(rgb, mask=alpha)
    return background


def _opaque_rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB of the colour bands, ignoring any alpha."""
    mode = img.mode
    if mode == "RGB":
        return img.copy() if img.readonly else img
    if mode == "I" or mode.startswith("I;16"):
        # 16 or 32-bit integers of unknown range, one rule for both (Pillow opens a 16-bit PNG
        # as I;16, older Pillows as I): 8-bit data held in them kept as is, 16-bit data
        # scaled to 8 bits (Pillow's convert would clip it), wider data scaled by the peak.
        arr = np.clip(np.asarray(img).astype(np.int64), 0, None)
        peak = int(arr.max(initial=0))
        if peak > 65535:
            arr = arr * 255 // peak
        elif peak > 255:
            arr = arr >> 8
        return Image.fromarray(arr.astype(np.uint8), "L").convert("RGB")
    if mode == "F":
        arr = np.clip(np.nan_to_num(np.asarray(img)), 0, 255).astype(np.uint8)
        return Image.fromarray(arr, "L").convert("RGB")
    try:
        return img.convert("RGB")
    except ValueError:  # a mode with no direct route to RGB
        return img.convert("RGBA").convert("RGB")


def image_extensions() -> frozenset[str]:
    """Every file extension ('.jpg', '.avif', ...) of a format this Pillow can open."""
    Image.init()
    return frozenset(ext for ext, fmt in Image.registered_extensions().items()
                     if fmt in Image.OPEN)


def is_image_file(path: Path, extensions: frozenset[str] | None = None) -> bool:
    """Whether a file is a photo to label: by an extension Pillow registers, else by its
    content (Pillow identifies it, or it is an image format Pillow cannot read, which is
    labeled as a failure that names the format rather than skipped unseen)."""
    if path.suffix.lower() in (extensions if extensions is not None else image_extensions()):
        return True
    try:
        with path.open("rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    if len(head) < 8:
        return False
    if _unreadable_format(head) is not None:
        return True
    _hook_warnings()
    _capture.sink = []
    try:
        with Image.open(path):
            return True
    except Exception:  # not an image (or one whose header Pillow cannot read)
        return False
    finally:
        _capture.sink = None


def _describe_non_image(data: bytes) -> str:
    head = data[:64].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        kind = "an HTML page"
    elif head.startswith((b"{", b"[")):
        kind = "JSON or text"
    else:
        kind = "unrecognised data"
    return f"{kind}, {len(data)} bytes"


def load_for_model(
    fetcher: Fetcher, url: str, size: tuple[int, int], *, fast: bool = False,
    warned: list[str] | None = None,
) -> np.ndarray:
    """Fetch and decode one photo into a float32 (height, width, 3) array in 0..255.

    The same array `keras.utils.img_to_array(load_img(path, target_size=size))` gives (bit for
    bit, unless `fast`: see `decode_image`), ready for a model's `preprocess_input`. Raises
    FetchError (or DecodeError). A body that does not
    decode is dropped from the cache, so that a later retry (`--retry-failed`) downloads it
    again instead of failing on the same cached bytes (an error page served with status 200,
    say). Library warnings are appended to `warned` (see `decode_image`).
    """
    data = fetcher.fetch(url)
    try:
        img = decode_image(data, size=size, fast=fast, warned=warned)
    except DecodeError:
        fetcher.forget(url)
        raise
    return np.asarray(img, dtype=np.float32)
