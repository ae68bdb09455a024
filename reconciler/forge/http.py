"""The HTTP side of the forge clients: httpx, timeouts, backoff, clear errors.

Rate limits (both forges answer 403 or 429): ``Retry-After`` seconds, or the
reset time (``X-RateLimit-Reset`` on GitHub, ``RateLimit-Reset`` on GitLab,
epoch seconds) when the remaining count is 0; otherwise at least a minute,
as GitHub's documentation asks. A wait longer than ``max_wait`` is not slept
through: the request fails with ``ForgeError(retry_after=...)`` so that the
caller can schedule it. 5xx answers, timeouts and connection errors are
retried with exponential backoff. The token travels in a header only and is
registered for log redaction; no message here ever includes it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

import httpx

from reconciler import logs
from reconciler.forge.base import ForgeError
from reconciler.model.sensitive import Sensitive

log = logging.getLogger("bosun.forge")

USER_AGENT = "bosun (+https://bosun.dev)"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)


def _seconds(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def rate_limit_wait(response: httpx.Response, now: float) -> float | None:
    """Seconds to wait before retrying, when ``response`` says "rate limited"."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = _seconds(headers.get("retry-after"))
    if retry_after is not None:
        return retry_after
    remaining = headers.get("x-ratelimit-remaining", headers.get("ratelimit-remaining"))
    reset = _seconds(headers.get("x-ratelimit-reset", headers.get("ratelimit-reset")))
    if remaining == "0" and reset is not None:
        return max(0.0, reset - now) + 1.0
    if response.status_code == 429 or "rate limit" in response.text.lower():
        return 60.0
    return None  # a plain 403: permissions


def _explain(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200].strip()
    if isinstance(body, dict):
        for key in ("message", "error", "error_description"):
            value = body.get(key)
            if isinstance(value, str | list | dict):
                return str(value)[:300]
    return str(body)[:200]


_HINTS = {
    401: "the token was rejected (expired, revoked or wrong)",
    403: "the token lacks permission for this",
    404: "not found: check the repository, the pull request number and the token's access",
    422: "the forge refused the request",
}


class ApiClient:
    """A small REST client: JSON in and out, retries, and nothing secret in errors."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        token_header: tuple[str, str],
        token: Sensitive,
        *,
        forge: str,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        max_retries: int = 4,
        max_wait: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        logs.register(token)
        name, prefix = token_header
        self.forge = forge
        self.max_retries = max_retries
        self.max_wait = max_wait
        self._sleep = sleep
        self._clock = clock
        self._client = httpx.Client(
            base_url=base_url.rstrip("/") + "/",
            headers={"User-Agent": USER_AGENT, **headers, name: prefix + token.reveal()},
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
        )

    def close(self) -> None:
        self._client.close()

    def request(self, method: str, path: str, *, json: Any = None,
                params: Mapping[str, Any] | None = None) -> httpx.Response:
        """Send one request, retrying what may pass later; ``ForgeError`` otherwise."""
        what = f"{self.forge} {method} /{path.lstrip('/').split('?')[0]}"
        delay = 1.0
        for attempt in range(self.max_retries + 1):
            last = attempt == self.max_retries
            try:
                response = self._client.request(method, path.lstrip("/"), json=json,
                                                params=params)
            except httpx.TimeoutException:
                if last:
                    raise ForgeError(f"{what}: timed out", retry_after=30.0) from None
                self._wait(what, delay, "timed out")
                delay *= 2
                continue
            except httpx.TransportError as exc:
                if last:
                    raise ForgeError(f"{what}: cannot connect: {type(exc).__name__}",
                                     retry_after=30.0) from None
                self._wait(what, delay, f"connection failed ({type(exc).__name__})")
                delay *= 2
                continue
            if response.status_code < 400:
                return response
            wait = rate_limit_wait(response, self._clock())
            if wait is not None:
                if wait > self.max_wait or last:
                    raise ForgeError(f"{what}: rate limited; retry in {wait:.0f}s",
                                     status=response.status_code, retry_after=wait)
                self._wait(what, wait, f"rate limited ({response.status_code})")
                continue
            if response.status_code >= 500:
                if last:
                    raise ForgeError(
                        f"{what}: {response.status_code} from the forge: {_explain(response)}",
                        status=response.status_code, retry_after=60.0)
                self._wait(what, delay, f"{response.status_code} from the forge")
                delay *= 2
                continue
            hint = _HINTS.get(response.status_code, "the request failed")
            raise ForgeError(
                f"{what}: {response.status_code}, {hint}: {_explain(response)}",
                status=response.status_code,
            )
        raise AssertionError("unreachable")

    def _wait(self, what: str, seconds: float, why: str) -> None:
        log.warning("%s: %s; retrying in %.1fs", what, why, seconds)
        self._sleep(seconds)
