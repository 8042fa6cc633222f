"""pytest fixtures: the local GitHub API, and a guard that keeps every test off the network.

Registered from ``tests/conftest.py`` with ``pytest_plugins = ["github_fake.plugin"]``.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from .server import FakeGitHub


def fail_on_rejections(api: FakeGitHub) -> None:
    """Fail the test if the fake rejected a request nobody acknowledged, or misbehaved itself."""
    problems = [
        f"{r.method} {r.path} -> {r.status}: {r.rejection}" for r in api.rejections
    ] + [f"the fake's own response broke the description: {e}" for e in api.response_errors]
    if problems:
        pytest.fail(
            "GitHub's OpenAPI description rejects requests this test made "
            "(acknowledge expected ones with take_rejections()):\n  " + "\n  ".join(problems),
            pytrace=False,
        )


@pytest.fixture
def github_api() -> Iterator[FakeGitHub]:
    """The local GitHub API at ``.url`` (like ``https://api.github.com``)."""
    with FakeGitHub() as api:
        yield api
        fail_on_rejections(api)


@pytest.fixture
def ghes_api() -> Iterator[FakeGitHub]:
    """The local GitHub API under ``/api/v3``, as GitHub Enterprise Server serves it."""
    with FakeGitHub(prefix="/api/v3") as api:
        yield api
        fail_on_rejections(api)


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


class NetworkGuard:
    """Refuses, and records, every connection and name lookup outside loopback."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex
        real_getaddrinfo = socket.getaddrinfo

        def check(address: Any) -> None:
            if isinstance(address, tuple) and not _is_loopback(address[0]):
                self.attempts.append(f"connect to {address[0]}:{address[1]}")
                raise OSError(f"tests may not reach the network (connect to {address[0]!r})")

        def connect(sock: socket.socket, address: Any) -> None:
            check(address)
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            check(address)
            return real_connect_ex(sock, address)

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            name = host.decode() if isinstance(host, bytes) else host
            if name is not None and not _is_loopback(name):
                self.attempts.append(f"resolve {name!r}")
                raise socket.gaierror(f"tests may not reach the network (lookup of {name!r})")
            return real_getaddrinfo(host, *args, **kwargs)

        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep every test off the network, and fail one that tries.

    Refusing alone is not enough: a client that retries or swallows errors would hide the
    attempt, so each attempt is recorded and fails the test at teardown.
    """
    guard = NetworkGuard()
    guard.install(monkeypatch)
    yield
    if guard.attempts:
        pytest.fail(
            "the test tried to reach the network: " + "; ".join(guard.attempts), pytrace=False
        )
