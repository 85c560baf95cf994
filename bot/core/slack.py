"""The Slack Web API client, pointed at SLACK_API_URL, with slack_sdk's retry handlers.

Every client the app makes is a `GuardedClient`: the last line of defence for untrusted text.
Whatever a view forgot, no outgoing call can broadcast (`<!channel>`, `<!here>`, `<!everyone>`,
`<!subteam^...>`), carry bidi or zero-width characters, or ask Slack to turn bare `@here` into a
ping (`link_names`, `parse=full`). The bot's own mentions (`<@U...>`) and links are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core.redaction import redact_payload, redact_text
from bot.core.text import BARE_BROADCAST, BROADCAST_TOKEN, INVISIBLE, neutralise

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
    return GuardedClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers() if handlers is None else handlers,
    )


# Arguments of Web API calls that carry text people read. Everything else (ids, timestamps,
# cursors, action values Slack never shows) is passed through untouched.
TEXT_ARGUMENTS = frozenset(
    {
        "text",
        "blocks",
        "attachments",
        "topic",
        "purpose",
        "view",
        "content",
        "initial_comment",
        "title",
        "alt_txt",
        "files",
    }
)
_INVISIBLE = tuple(sorted(INVISIBLE))


def _suspect(text: str) -> bool:
    """One cheap test decides whether text needs neutralising: most text needs none."""
    # Substring checks (C speed) first; a regex or a Unicode class per character costs more.
    return (
        ("<!" in text and BROADCAST_TOKEN.search(text) is not None)
        or ("@" in text and BARE_BROADCAST.search(text) is not None)
        or (not text.isascii() and any(char in text for char in _INVISIBLE))
    )


def _clean(value: Any) -> Any:
    """Strings neutralised wherever they sit in a JSON-like value; other values as they are."""
    if isinstance(value, str):
        return neutralise(value) if _suspect(value) else value
    if isinstance(value, Mapping):
        return {key: _clean(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(item) for item in value]
    to_dict = getattr(value, "to_dict", None)  # Block Kit objects not yet serialised
    return _clean(to_dict()) if callable(to_dict) else value


def _clean_json_string(value: str) -> str:
    """`blocks='[...]'` and `files='[...]'` arrive serialised; JSON may hide "\u202e" escapes."""
    if value[:1] not in "[{":
        return _clean(value)  # type: ignore[no-any-return]
    try:
        parsed = json.loads(value)
    except ValueError:
        return _clean(value)  # type: ignore[no-any-return]
    cleaned = _clean(parsed)
    return value if cleaned == parsed else json.dumps(cleaned)


def _needs_cleaning(value: Any) -> bool:
    if isinstance(value, str):
        # Serialised JSON may spell an invisible character as an escape ("\\u202e").
        return _suspect(value) or (value[:1] in "[{" and "\\u" in value)
    if isinstance(value, Mapping):
        return any(_needs_cleaning(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_needs_cleaning(item) for item in value)
    return hasattr(value, "to_dict")  # Block Kit objects: serialise and walk


def sanitise_arguments(args: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a call's arguments with text neutralised and ping-enabling options removed."""
    if args is None:
        return None
    out: dict[str, Any] = {}
    for key, value in args.items():
        if key == "link_names" or (key == "parse" and value == "full"):
            continue
        if key in TEXT_ARGUMENTS and _needs_cleaning(value):
            value = _clean_json_string(value) if isinstance(value, str) else _clean(value)
        out[key] = _redacted(value) if key in TEXT_ARGUMENTS else value
    return out


def _redacted(value: Any) -> Any:
    """Secrets out of what leaves, whichever view or feature wrote it (JSON stays valid)."""
    if isinstance(value, str) and value[:1] in "[{":
        try:
            parsed = json.loads(value)
        except ValueError:
            return redact_text(value)
        cleaned = redact_payload(parsed, keep=())
        return value if cleaned is parsed else json.dumps(cleaned)
    if isinstance(value, str):
        return redact_text(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        value = to_dict()
    if isinstance(value, Mapping | list | tuple):
        return redact_payload(value, keep=())
    return value


def _clean_upload_content(content: str | bytes | None) -> str | bytes | None:
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content  # binary (a chart image): nothing Slack would parse
        return redact_text(neutralise(text)).encode("utf-8")
    return redact_text(neutralise(content)) if content is not None else None


class GuardedClient(AsyncWebClient):
    """An AsyncWebClient whose every call leaves with its text neutralised (see module doc)."""

    async def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: Any = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> AsyncSlackResponse:
        return await super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            data=sanitise_arguments(data) if isinstance(data, Mapping) else data,
            params=sanitise_arguments(params),
            json=sanitise_arguments(json),
            headers=headers,
            auth=auth,
        )

    async def files_upload_v2(self, **kwargs: Any) -> AsyncSlackResponse:
        """File bytes go to an upload URL, not through `api_call`: clean text content first."""
        if "content" in kwargs:
            kwargs["content"] = _clean_upload_content(kwargs["content"])
        if kwargs.get("file_uploads"):
            kwargs["file_uploads"] = [
                {**item, "content": _clean_upload_content(item.get("content"))}
                if "content" in item
                else item
                for item in kwargs["file_uploads"]
            ]
        return await super().files_upload_v2(**kwargs)
