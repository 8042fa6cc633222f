"""A local stand-in for the GitHub REST API, checked against GitHub's OpenAPI description."""

from .server import CREATE_COMMENT, FAULTS, FakeGitHub, RecordedRequest
from .state import BOT_TOKEN, FORK_TOKEN, USER_TOKEN

__all__ = [
    "BOT_TOKEN",
    "CREATE_COMMENT",
    "FAULTS",
    "FORK_TOKEN",
    "USER_TOKEN",
    "FakeGitHub",
    "RecordedRequest",
]
