"""Tokens and credentials in what mlops-ci says: a token checked before any header holds it,
sent as ``Authorization: Bearer`` to GitHub's origins only, URLs shown without their
``user:password@``, and log records masked."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from mlops_ci.security import mask_secrets


class BearerAuth:
    """requests' auth hook (``session.auth``): ``Authorization: Bearer TOKEN`` on a request to
    one of *origins*, no Authorization header on any other.

    Being set, it also keeps requests from applying a ``.netrc`` entry for the API host, which
    it does when ``session.auth`` is None, replacing a header set on the session. Without a
    token it only removes the header. Its repr never shows the token.
    """

    def __init__(self, token: str | None, origins: Collection[str]) -> None:
        self._token = token or None
        self._origins = origins  # the client's set: an upload origin added later counts

    def __call__(self, request: Any) -> Any:
        parts = urlsplit(request.url)
        origin = f"{parts.scheme}://{parts.netloc}".lower()
        if self._token and origin in {o.lower() for o in self._origins}:
            request.headers["Authorization"] = f"Bearer {self._token}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return f"BearerAuth({'***' if self._token else None})"


def check_token(token: str, *, source: str) -> str:
    """*token* if it can be a token: printable ASCII, no space. ConfigError otherwise.

    HTTP libraries reject such a header with a message that quotes it, so it is refused
    first, in words that never show it. *source* names where it came from.
    """
    from mlops_ci.errors import ConfigError

    for index, char in enumerate(token):
        if "!" <= char <= "~":
            continue
        what = {"\n": "a line break", "\r": "a carriage return", " ": "a space",
                "\t": "a tab"}.get(char)
        if what is None:
            what = "a control character" if char.isascii() else "a non-ASCII character"
        where = "at its end" if index == len(token) - 1 else f"at character {index + 1}"
        raise ConfigError(
            f"The GitHub token from {source} holds {what} ({where}), which no token has; set "
            "the secret again without it (a copied token often ends with a line break)."
        )
    return token


def without_credentials(url: str) -> str:
    """*url* with any ``user:password@`` taken out, for messages."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


class SecretFilter(logging.Filter):
    """Replaces every secret it knows with ``***`` in the records that pass its handler."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets = {s for s in secrets if s}

    def mask(self, text: str) -> str:
        return mask_secrets(text, self.secrets)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        return True


def mask_secret(
    token: str | None, handlers: Iterable[logging.Handler] | None = None
) -> SecretFilter:
    """Mask ``token`` on ``handlers`` (default: the root logger's), and return the filter.

    A handler filter sees every record that reaches the handler, whichever logger made it; call
    this once logging is configured, and add the filter to handlers created later.
    """
    secret_filter = SecretFilter([token] if token else [])
    for handler in logging.getLogger().handlers if handlers is None else handlers:
        handler.addFilter(secret_filter)
    return secret_filter
