"""The Slack Web API client, pointed at SLACK_API_URL, with slack_sdk's retry handlers.

Every client counts each HTTP attempt it makes in `opsbot_slack_api_calls_total` (`CallCounter`).

Every client the app makes is a `GuardedClient`: the last line of defence for untrusted text.
Whatever a view forgot, no outgoing call can broadcast (`<!channel>`, `<!here>`, `<!everyone>`,
`<!subteam^...>`), carry bidi or zero-width characters or a secret (`bot.core.redaction`), or ask
Slack to turn bare `@here` into a ping (`link_names`, `parse=full`). The bot's own mentions
(`<@U...>`) and links are left alone.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_internal_utils import _request_with_session
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.core import workspaces
from bot.core.metrics import SLACK_CALLS
from bot.core.redaction import redact_payload, redact_text
from bot.core.text import neutralise

DEFAULT_API_URL = "https://slack.com/api/"
# Asked for the token before each call (OAuth mode: the installed workspace's bot token).
TokenSource = Callable[[], Awaitable[str | None]]
# Asked which workspace a call is for when its token is an org-wide (Enterprise Grid) one.
OrgWorkspace = Callable[[], str | None]
# Methods that act in one workspace: with an org-wide token Slack needs its `team_id`.
WORKSPACE_METHODS = frozenset(
    {
        "conversations.create",
        "conversations.list",
        "users.list",
        "usergroups.list",
    }
)


# A Web API method name (chat.postMessage); anything else (an upload URL) is counted as "other".
METHOD_NAME = re.compile(r"^[a-z]+(\.[A-Za-z]+)+$")


def call_result(response: HttpResponse | None) -> str:
    """One attempt's outcome as a label: ok, ratelimited, Slack's error code, or the status."""
    if response is None:
        return "transport_error"  # no answer: connection refused, reset or timed out
    if response.status_code == 429:
        return "ratelimited"
    body = response.body if isinstance(response.body, dict) else {}
    if body.get("ok") is False:
        return str(body.get("error") or "error")[:64]
    if response.status_code >= 400:
        return f"http_{response.status_code}"
    return "ok"


class CallCounter(AsyncRetryHandler):
    """Counts every attempt, retried ones included, and never asks for a retry itself.

    slack_sdk shows each attempt's answer to the request's retry handlers in order; a
    `GuardedClient` puts this one first on every request (not in `retry_handlers`, which stays
    what the caller chose), so clients with and without retries are counted alike.
    """

    async def can_retry_async(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        method = request.url.rsplit("/", 1)[-1].split("?", 1)[0]
        label = method if METHOD_NAME.match(method) else "other"
        SLACK_CALLS.labels(label, call_result(response)).inc()
        return False


COUNTER = CallCounter()


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
    token_source: TokenSource | None = None,
    org_workspace: OrgWorkspace | None = None,
) -> AsyncWebClient:
    """A client for reads and idempotent writes: it retries rate limits and transient failures.

    Writes that are not idempotent (posting a message) go through the projector, which uses
    `handlers=[]` and reconciles by itself, because a blind retry after a lost answer posts twice.
    With `token_source`, the token is asked for before each call (OAuth mode: the installed
    workspace's bot token, which can be refreshed or revoked while the process runs); with
    `org_workspace`, a call of a method that acts in one workspace names it when the token is
    an org-wide one (`WORKSPACE_METHODS`).
    """
    base_url = api_url if api_url.endswith("/") else api_url + "/"
    client = GuardedClient(
        token=token,
        base_url=base_url,
        timeout=timeout,
        retry_handlers=retry_handlers() if handlers is None else handlers,
    )
    client.token_source = token_source
    client.org_workspace = org_workspace
    return client


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
# The text arguments that hold structure (Block Kit, file lists), which may arrive serialised
# as a JSON string. Every other one is text, even when it starts with "[" or "{".
JSON_ARGUMENTS = frozenset({"blocks", "attachments", "view", "files"})


def guard_text(text: str) -> str:
    """One string as it may leave for Slack: no broadcast, no invisible character, no secret."""
    return redact_text(neutralise(text))


def guard_value(value: Any, *, structured: bool = False) -> Any:
    """An outgoing value with every string in it neutralised and redacted, in one walk (the
    value itself when nothing changed). ``structured``: a string is JSON to parse and walk, as
    `blocks='[...]'` is sent (JSON may spell an invisible character as an escape)."""
    if isinstance(value, str):
        if not (structured and value[:1] in "[{"):
            return guard_text(value)
        try:
            parsed = json.loads(value)
        except ValueError:
            return guard_text(value)
        guarded = redact_payload(parsed, keep=(), prepare=neutralise)
        return value if guarded is parsed else json.dumps(guarded, ensure_ascii=False)
    return redact_payload(value, keep=(), prepare=neutralise)


def pings_many(key: str, value: Any) -> bool:
    """An option that asks Slack to turn bare `@here` into a ping."""
    return key == "link_names" or (key == "parse" and value == "full")


def sanitise_arguments(args: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A copy of a call's arguments with text guarded and ping-enabling options removed."""
    if args is None:
        return None
    return {
        key: guard_value(value, structured=key in JSON_ARGUMENTS)
        if key in TEXT_ARGUMENTS
        else value
        for key, value in args.items()
        if not pings_many(key, value)
    }


def _clean_upload_content(content: str | bytes | None) -> str | bytes | None:
    if isinstance(content, bytes):
        try:
            text = content.decode("utf-8")
        except UnicodeDecodeError:
            return content  # binary (a chart image): nothing Slack would parse
        return guard_text(text).encode("utf-8")
    return guard_text(content) if content is not None else None


def _clean_upload(upload: Mapping[str, Any]) -> dict[str, Any]:
    """One file's arguments with its text cleaned: `content`, or `file` given as bytes."""
    cleaned = dict(upload)
    if "content" in cleaned:
        cleaned["content"] = _clean_upload_content(cleaned["content"])
    if isinstance(cleaned.get("file"), bytes):
        cleaned["file"] = _clean_upload_content(cleaned["file"])
    return cleaned


def _with_team(args: dict[str, Any] | None, team: str | None) -> dict[str, Any] | None:
    """`args` naming the workspace an org-wide token acts in, unless the caller named one."""
    if team is None or (args is not None and args.get("team_id")):
        return args
    return {**(args or {}), "team_id": team}


class GuardedClient(AsyncWebClient):
    """An AsyncWebClient whose every call leaves with its text neutralised (see module doc)."""

    token_source: TokenSource | None = None
    org_workspace: OrgWorkspace | None = None

    @classmethod
    def from_client(cls, client: AsyncWebClient) -> GuardedClient:
        """The same client (token, address, TLS, proxy, session, headers, team, logger and
        retry handlers), guarded."""
        guarded = cls(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            ssl=client.ssl,
            proxy=client.proxy,
            session=client.session,
            trust_env_in_session=client.trust_env_in_session,
            logger=client.logger,
            retry_handlers=list(client.retry_handlers),
        )
        # Copied after construction, which would otherwise reset the User-Agent header.
        guarded.headers = dict(client.headers)
        guarded.default_params = dict(client.default_params)  # team_id, when Bolt set one
        return guarded

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
        if self.token_source is not None:
            # Every caller sets the same, current token: the latest refresh wins.
            self.token = await self.token_source()
        if api_method in workspaces.VIEW_METHODS and json is not None and "view" in json:
            json = {**json, "view": workspaces.stamped(json["view"])}
        if self.org_workspace is not None and api_method in WORKSPACE_METHODS:
            team = self.org_workspace()
            if json is not None:
                json = _with_team(json, team)
            elif isinstance(data, Mapping):
                data = _with_team(dict(data), team)
            else:
                params = _with_team(params, team)
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

    async def _request(
        self, *, http_verb: str, api_url: str, req_args: dict[str, Any]
    ) -> dict[str, Any]:
        """slack_sdk's own request loop, with the attempt counter ahead of the retry handlers."""
        return await _request_with_session(
            current_session=self.session,
            timeout=self.timeout,
            logger=self._logger,
            http_verb=http_verb,
            api_url=api_url,
            req_args=req_args,
            retry_handlers=[COUNTER, *self.retry_handlers],
        )

    async def files_upload_v2(self, **kwargs: Any) -> AsyncSlackResponse:
        """File bytes go to an upload URL, not through `api_call`: clean text content first."""
        kwargs = _clean_upload(kwargs)
        if kwargs.get("file_uploads"):
            kwargs["file_uploads"] = [_clean_upload(item) for item in kwargs["file_uploads"]]
        return await super().files_upload_v2(**kwargs)
