"""The Slack Web API client, pointed at SLACK_API_URL, with slack_sdk's retry handlers."""

from __future__ import annotations

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

DEFAULT_API_URL = "https://slack.com/api/"


def retry_handlers(
    *, rate_limited: int = 2, server_errors: int = 2, connection_errors: int = 2
) -> list[AsyncRetryHandler]:
    return [
        AsyncRateLimitErrorRetryHandler(max_retry_count=rate_limited),
        AsyncServerErrorRetryHandler(max_retry_count=server_errors),
        AsyncConnectionErrorRetryHandler(max_retry_count=connection_errors),
    ]


def make_client(
    token: str | None,
    api_url: str = DEFAULT_API_URL,
    *,
    timeout: int = 10,
    handlers: list[AsyncRetryHandler] | None = None,
) -> AsyncWebClient:
    """A client for reads and idempotent writes: it retries rate limits and transient failures.

    Writes that are not idempotent (posting a message) go through the projector, which uses
    `handlers=[]` and reconciles by itself, because a blind retry after a lost answer posts twice.
    """
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    return AsyncWebClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers() if handlers is None else handlers,
    )
