"""The two other origins of release assets: uploads (like ``uploads.github.com``) and storage.

- **Uploads**: ``POST {upload_url}?name=&label=`` with the file's bytes. On github.com the
  release's ``upload_url`` names a second server (its own port, so its own origin); on GitHub
  Enterprise Server (``FakeGitHub(prefix="/api/v3")``) it is ``/api/uploads`` on the API host.
  The request is checked against the description's upload operation like any other, and must
  carry ``Content-Type`` and ``Content-Length`` (GitHub refuses a chunked upload). Faults come
  through :meth:`FakeGitHub.inject` on :data:`~github_fake.releases.UPLOAD`, with two of their
  own: ``"reset_mid_body"`` (half the body read, then a TCP reset) and ``"starter_502"`` (the
  whole body read, then 502) — both leave a ``starter`` asset behind, as GitHub does, since it
  records the asset when the upload begins. ``"apply_then_fail"`` stores the complete asset and
  answers 502; ``"reset"``, 500 and 502 store nothing.
- **Storage**: ``GET .../releases/assets/{id}`` with ``Accept: application/octet-stream``
  answers 302 to a third server, on another loopback address where the system has one, with a
  single-use token in the query. The storage answers 400 to any request that carries an
  ``Authorization`` header, as S3 does ("only one auth mechanism allowed"), and 403 to a used
  or unknown token. :attr:`ReleaseTransfer.storage_requests` records every request it saw.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from .openapi import Rejection
from .releases import UPLOAD, Asset, add_upload, asset_json, tolerated, visible_release

if TYPE_CHECKING:
    from .server import Answer, FakeGitHub, RecordedRequest, _Handler

_UPLOAD_PREFIX = "/api/uploads"  # GitHub Enterprise Server's upload path on the API host
_BUCKET = "/github-production-release-asset-2e65be"


def _serve_in_thread(server: ThreadingHTTPServer) -> threading.Thread:
    server.daemon_threads = True
    return threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02},
                            daemon=True)


class ReleaseTransfer:
    """The upload and storage servers of one :class:`FakeGitHub`."""

    def __init__(self, fake: FakeGitHub, handler_base: type[_Handler]) -> None:
        self.fake = fake
        self.storage_requests: list[RecordedRequest] = []
        # Storage answers without Content-Length (reading to the end of the connection), to
        # check a client bounds what it reads by the asset's size and not by the header.
        self.storage_without_length = False
        self._tokens: dict[str, int] = {}  # single-use token -> asset id
        front = type("UploadHandler", (handler_base,), {"fake": _UploadFront(self)})
        self._uploads = ThreadingHTTPServer(("127.0.0.1", 0), front)
        self._storage = _storage_server(self)
        self._threads = [_serve_in_thread(self._uploads), _serve_in_thread(self._storage)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        for server in (self._uploads, self._storage):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join()

    @property
    def upload_origin(self) -> str:
        if self.fake.prefix:
            return self.fake.origin
        host, port = self._uploads.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def upload_base(self) -> str:
        """What ``upload_url`` starts with: the uploads origin, or ``/api/uploads`` on GHES."""
        return self.fake.origin + _UPLOAD_PREFIX if self.fake.prefix else self.upload_origin

    @property
    def storage_origin(self) -> str:
        host, port = self._storage.server_address[:2]
        return f"http://{host!s}:{port}"

    def storage_url(self, asset: Asset) -> str:
        token = secrets.token_urlsafe(16)
        self._tokens[token] = asset.id
        return (f"{self.storage_origin}{_BUCKET}/{asset.id}?X-Amz-Algorithm=AWS4-HMAC-SHA256"
                f"&X-Amz-Expires=300&X-Amz-Signature={token}")

    # -- uploads ---------------------------------------------------------------------------------

    def is_upload(self, handler: BaseHTTPRequestHandler) -> bool:
        """Whether a request on the API host is an upload (GHES's, or one sent there by mistake)."""
        path = urlsplit(handler.path).path
        return handler.command == "POST" and path.rstrip("/").endswith("/assets") and (
            "/releases/" in path
        )

    def handle_upload(self, handler: _Handler, *, on_api_host: bool) -> Answer | None:
        """Answer one upload (None: reset the connection), recorded in the fake's log."""
        from .server import RecordedRequest

        parts = urlsplit(handler.path)
        record = RecordedRequest(
            method=handler.command, path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()}, body=None,
        )
        with self.fake._lock:
            self.fake.requests.append(record)
        answer = self._upload(handler, record, parts.path, on_api_host=on_api_host)
        record.status = None if answer is None else answer.status
        return answer

    def _upload(self, handler: _Handler, record: RecordedRequest, path: str, *,
                on_api_host: bool) -> Answer | None:
        from .server import Answer, ApiError

        fake = self.fake
        length = record.headers.get("content-length")
        try:
            if on_api_host:
                if not fake.prefix or not path.startswith(_UPLOAD_PREFIX + "/"):
                    raise Rejection(404, "Not Found: release assets are uploaded to the "
                                         f"release's upload_url ({self.upload_base}), not to "
                                         "the API host")
                path = path[len(_UPLOAD_PREFIX):]
            operation, values = fake.description.match("POST", path)
            record.operation = operation.key
            if operation.key != UPLOAD:
                raise Rejection(404, f"Not Found: the uploads host serves only {UPLOAD}")
            fake._check_headers(record)
            if "chunked" in record.headers.get("transfer-encoding", "") or length is None:
                raise Rejection(411, "Length Required: an upload needs a Content-Length header")
            if not record.headers.get("content-type"):
                raise Rejection(422, "Bad Content-Type: an upload needs a Content-Type header")
            principal = fake._authenticate(record)
            params, _ = fake.description.check_request(operation, values, record.query, b"")
            repo = fake._repo(params, principal)
        except Rejection as rejection:
            record.rejection = rejection.message
            self._drain(handler, length)
            return Answer(rejection.status, rejection.body())
        except ApiError as error:
            self._drain(handler, length)
            return Answer(error.status, error.body)

        size = int(length)
        fault = fake._next_fault(operation)
        kind = None if fault is None else fault.kind
        record.fault = None if kind is None else str(kind)
        if kind == "reset":
            return None
        if kind == "slow":
            assert fault is not None
            time.sleep(fault.seconds)
        content = handler.rfile.read(size // 2 if kind == "reset_mid_body" else size)
        record.body = f"<{len(content)} bytes>"
        if kind in (500, 502, 429, "secondary_rate_limit", "primary_rate_limit"):
            from .server import _fault_answer

            assert fault is not None
            return _fault_answer(fault)
        with fake._lock:
            try:
                from .server import _require_write

                _require_write(principal)
                assert principal is not None
                release = visible_release(repo, params["release_id"], principal)
                asset = add_upload(
                    fake, repo, release, principal, params["name"], params.get("label"),
                    record.headers["content-type"], content,
                    complete=kind not in ("reset_mid_body", "starter_502"),
                )
            except ApiError as error:
                return Answer(error.status, error.body)
            shaped = asset_json(repo, release, asset, fake.urls)
            problem = tolerated(fake.description.check_response(operation, 201, shaped))
            if problem:
                fake.response_errors.append(problem)
        if kind == "reset_mid_body":
            return None
        if kind in ("starter_502", "apply_then_fail"):
            return Answer(502, {"message": "Error uploading asset"})
        return Answer(201, shaped)

    @staticmethod
    def _drain(handler: _Handler, length: str | None) -> None:
        """Read an unwanted body, so the connection's next request starts where it should."""
        if length is not None and length.isdigit():
            handler.rfile.read(int(length))
        else:
            handler.close_connection = True

    # -- storage ---------------------------------------------------------------------------------

    def serve_storage(self, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, bool]:
        """(status, body, whether to send Content-Length) for one storage request."""
        from .server import RecordedRequest

        parts = urlsplit(handler.path)
        record = RecordedRequest(
            method=handler.command, path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in handler.headers.items()}, body=None,
        )
        with self.fake._lock:
            self.storage_requests.append(record)
            if "authorization" in record.headers:
                record.status = 400
                return 400, (b"<Error><Code>InvalidArgument</Code><Message>Only one auth "
                             b"mechanism allowed</Message></Error>"), True
            token = (record.query.get("X-Amz-Signature") or [""])[0]
            asset_id = self._tokens.pop(token, None)
            asset = self._asset(asset_id)
            if asset is None or not parts.path.endswith(f"/{asset_id}"):
                record.status = 403
                return 403, (b"<Error><Code>AccessDenied</Code><Message>Request has expired"
                             b"</Message></Error>"), True
            record.status = 200
            return 200, asset.content, not self.storage_without_length

    def _asset(self, asset_id: int | None) -> Asset | None:
        for repo in self.fake.state.repos.values():
            for release in repo.releases.values():
                for asset in release.assets:
                    if asset.id == asset_id:
                        return asset
        return None


class _UploadFront:
    """What the uploads server's handler calls ``fake``: it only takes uploads."""

    def __init__(self, transfer: ReleaseTransfer) -> None:
        self.transfer = transfer

    def handle(self, handler: _Handler) -> Answer | None:
        return self.transfer.handle_upload(handler, on_api_host=False)


def _storage_server(transfer: ReleaseTransfer) -> ThreadingHTTPServer:
    class Storage(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "AmazonS3"
        sys_version = ""

        def do_GET(self) -> None:
            status, body, with_length = transfer.serve_storage(self)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.send_response(status)
                kind = "application/octet-stream" if status == 200 else "application/xml"
                self.send_header("Content-Type", kind)
                if with_length:
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Silent: ``ReleaseTransfer.storage_requests`` is the log."""

    # Another loopback address makes the storage another host, not only another port; fall
    # back to 127.0.0.1 where the system has no other (macOS, by default).
    for host in ("127.0.0.2", "127.0.0.1"):
        with contextlib.suppress(OSError):
            return ThreadingHTTPServer((host, 0), Storage)
    raise OSError("no loopback address to serve the fake's asset storage on")
