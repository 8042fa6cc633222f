"""Release asset bytes: uploads to GitHub's upload origin, downloads through its storage.

**Where the token goes.** Only to the API's origin and to the upload origin of that API:

- ``api.github.com`` (and ``api.SUBDOMAIN.ghe.com``) uploads to ``uploads.`` + the same domain;
- GitHub Enterprise Server (``https://HOST/api/v3``) uploads to ``https://HOST/api/uploads``;
- any other API URL (a proxy, a test server): the origin of the ``upload_url`` that the API
  itself returned in the release. That answer came over the connection the token already goes
  to, and ``upload_url`` is set by GitHub, not by whoever wrote the release: anyone able to
  forge it could read the token from the request it answers.

In every case the upload URL must keep the API's scheme (no ``https`` → ``http``), carry no
credentials, and name this release's ``/repos/OWNER/NAME/releases/ID/assets``; anything else is
refused before a byte is sent.

**Downloads.** ``GET /repos/OWNER/NAME/releases/assets/ID`` with ``Accept:
application/octet-stream`` goes to the API with the token; GitHub answers 302 to a storage URL
that carries its own short-lived credentials in the query. That URL (and any further redirect)
is fetched by a separate session that never holds the token, with redirects followed by hand
so that no ``.netrc`` entry or header is added on the way. The body is bounded by the asset's
``size``: a server that sends more, or less, is refused, and so is a ``sha256:`` digest that
differs. The bytes go to a temporary file beside *target*, renamed into place only once they
check.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import urljoin, urlsplit

from mlops_ci import __version__
from mlops_ci.errors import GitHubError, InputError
from mlops_ci.progress import Progress

if TYPE_CHECKING:
    import requests

    from mlops_ci.github.client import GitHubClient

CHUNK = 1 << 16
PROGRESS_MIN_BYTES = 1 << 20  # smaller transfers show no progress bar
MAX_REDIRECTS = 5
_ASSETS_PATH = re.compile(r"/repos/[^/]+/[^/]+/releases/\d+/assets")


def expected_upload_base(api_url: str) -> str | None:
    """Where the uploads of the API at *api_url* go, when GitHub's layout says; else None."""
    parts = urlsplit(api_url.rstrip("/"))
    host = parts.hostname or ""
    if parts.path == "" and host.startswith("api.") and (
        host == "api.github.com" or host.endswith(".ghe.com")
    ):
        return f"{parts.scheme}://uploads.{host[4:]}"
    if parts.path.endswith("/api/v3"):
        return f"{parts.scheme}://{parts.netloc}{parts.path[:-len('/v3')]}/uploads"
    return None


def admit_upload_url(client: GitHubClient, upload_url: str, release_id: int) -> str:
    """The URL to POST release *release_id*'s assets to, after the host policy above.

    *upload_url* is the release's URI template (``…/assets{?name,label}``). The admitted origin
    joins the client's ``token_origins``.
    """
    url = upload_url.split("{", 1)[0]
    parts = urlsplit(url)
    api = urlsplit(client.api_url)
    expected = expected_upload_base(client.api_url)
    shown = f"{parts.scheme}://{parts.hostname}{parts.path}"
    problem = None
    if parts.scheme != api.scheme:
        problem = f"uses {parts.scheme or 'no scheme'}, not {api.scheme} as the API does"
    elif "@" in parts.netloc or parts.query or parts.fragment:
        problem = "carries credentials, a query or a fragment"
    elif not _ASSETS_PATH.search(parts.path) or not parts.path.endswith(
        f"/releases/{release_id}/assets"
    ):
        problem = f"does not name the assets of release {release_id}"
    elif expected is not None and not url.startswith(expected + "/"):
        problem = f"is not under {expected}, where this API's uploads go"
    if problem:
        raise GitHubError(
            f"GitHub's upload URL for release {release_id} ({shown}) {problem}; mlops-ci does "
            "not send the token there. Check GITHUB_API_URL."
        )
    client.token_origins.add(f"{parts.scheme}://{parts.netloc}")
    return url


class _Reader:
    """A file as a request body: read in chunks, counted on a progress bar, of a known length."""

    def __init__(self, stream: IO[bytes], size: int, bar: Progress) -> None:
        self._stream, self._size, self._bar = stream, size, bar
        stream.seek(0)

    def __len__(self) -> int:
        return self._size

    def read(self, amount: int | None = -1) -> bytes:
        chunk = self._stream.read(amount if amount is not None and amount >= 0 else -1)
        self._bar.advance(len(chunk))
        return chunk


def upload_file(
    client: GitHubClient,
    url: str,
    path: Path,
    *,
    name: str,
    label: str | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """POST *path*'s bytes as asset *name* to the admitted upload *url*; GitHub's asset JSON.

    Streamed with ``Content-Length`` and ``Content-Type``. Never repeated once it may have
    reached GitHub (:class:`~mlops_ci.github.errors.GitHubUncertainWriteError`): the caller
    lists the assets and cleans up.
    """
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    params = {"name": name} if label is None else {"name": name, "label": label}
    try:
        stream = open(path, "rb")  # noqa: SIM115 (closed below, also on failure)
    except OSError as exc:
        raise InputError(f"The release asset {path} cannot be read ({exc.strerror}).") from None
    with stream:
        size = os.fstat(stream.fileno()).st_size
        bar = Progress(f"Uploading {name}", total=size, min_total=PROGRESS_MIN_BYTES)
        bar.enabled = bar.enabled and progress

        def body() -> _Reader:
            bar.done = 0
            return _Reader(stream, size, bar)

        with bar:
            response = client.request(
                "POST", url, params=params, body=body, ok=(201,),
                headers={"Content-Type": content_type, "Content-Length": str(size)},
            )
    assert response is not None
    asset = response.json()
    if not isinstance(asset, dict):
        raise GitHubError(f"GitHub answered the upload of {name} with something not an asset.")
    return asset


def download_file(
    client: GitHubClient,
    api_path: str,
    target: Path,
    *,
    name: str,
    size: int,
    sha256: str | None,
    progress: bool = True,
) -> None:
    """Stream the asset at *api_path* to *target*: at most *size* bytes, checked, then renamed."""
    response = client.request(
        "GET", api_path, headers={"Accept": "application/octet-stream"}, stream=True,
        allow_redirects=False, ok=(200, 301, 302, 303, 307, 308),
    )
    assert response is not None
    storage = None
    try:
        if response.is_redirect:
            location = urljoin(response.url, response.headers.get("Location", ""))
            response.close()
            storage = _storage_session()
            response = _follow(storage, location, urlsplit(client.api_url).scheme, name)
        _write_checked(response, target, name=name, size=size, sha256=sha256,
                       progress=progress)
    finally:
        response.close()
        if storage is not None:
            storage.close()


class _NoAuth:
    """requests' auth hook that makes sure no Authorization header leaves (and no .netrc)."""

    def __call__(self, request: Any) -> Any:
        request.headers.pop("Authorization", None)
        return request


def _storage_session() -> requests.Session:
    import requests

    session = requests.Session()
    session.auth = _NoAuth()  # set, so requests never looks up .netrc for the storage host
    session.headers["User-Agent"] = f"mlops-ci/{__version__}"
    return session


def _follow(session: requests.Session, url: str, api_scheme: str, name: str) -> requests.Response:
    import requests

    for _ in range(MAX_REDIRECTS):
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or (api_scheme == "https" and
                                                      parts.scheme != "https"):
            raise GitHubError(
                f"The download of {name} was redirected to a {parts.scheme or 'relative'} URL "
                f"({parts.hostname}); mlops-ci follows https only. Re-run the job."
            )
        try:
            response = session.get(url, stream=True, allow_redirects=False, timeout=60)
        except requests.RequestException as exc:
            raise GitHubError(
                f"The download of {name} from {parts.hostname} failed ({type(exc).__name__}); "
                "re-run the job."
            ) from None
        if not response.is_redirect:
            if response.status_code != 200:
                response.close()
                raise GitHubError(
                    f"The download of {name} from {parts.hostname} answered "
                    f"{response.status_code}; the link GitHub gave may have expired: re-run "
                    "the job."
                )
            return response
        url = urljoin(url, response.headers.get("Location", ""))
        response.close()
    raise GitHubError(f"The download of {name} was redirected more than {MAX_REDIRECTS} times.")


def _chunks(response: requests.Response) -> Iterator[bytes]:
    import requests

    try:
        yield from response.iter_content(CHUNK)
    except requests.RequestException as exc:
        raise GitHubError(
            f"The download was cut off ({type(exc).__name__}); re-run the job."
        ) from None


def _write_checked(
    response: requests.Response, target: Path, *, name: str, size: int,
    sha256: str | None, progress: bool,
) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) != size:
        raise InputError(
            f"The release asset {name} is {size} bytes on GitHub, but its download is "
            f"{declared}; it was refused. Re-run, and report it if it persists."
        )
    digest = hashlib.sha256()
    received = 0
    try:
        fd, partial = tempfile.mkstemp(prefix=".download-", dir=target.parent)
    except OSError as exc:
        raise InputError(
            f"The release asset {name} cannot be written into {target.parent} ({exc.strerror})."
        ) from None
    bar = Progress(f"Downloading {name}", total=size, min_total=PROGRESS_MIN_BYTES)
    bar.enabled = bar.enabled and progress
    try:
        with os.fdopen(fd, "wb") as out, bar:
            for chunk in _chunks(response):
                received += len(chunk)
                if received > size:
                    raise InputError(
                        f"The download of release asset {name} ran past its size on GitHub "
                        f"({size} bytes); it was refused and nothing was kept."
                    )
                digest.update(chunk)
                out.write(chunk)
                bar.advance(len(chunk))
        if received != size:
            raise InputError(
                f"The download of release asset {name} stopped at {received} of {size} bytes; "
                "nothing was kept. Re-run the job."
            )
        if sha256 is not None and digest.hexdigest() != sha256:
            raise InputError(
                f"The release asset {name} does not match the sha256 GitHub reports for it "
                f"({sha256[:12]}…); it was refused and nothing was kept."
            )
        os.replace(partial, target)
    except OSError as exc:
        Path(partial).unlink(missing_ok=True)
        raise InputError(
            f"The release asset {name} cannot be written to {target} ({exc.strerror})."
        ) from None
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise

