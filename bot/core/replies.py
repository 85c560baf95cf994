"""The other ways text leaves for Slack: acknowledgements, `respond()` and Bolt's own client.

`GuardedClient` covers the Web API calls the app makes. A listener can also answer in its
acknowledgement (a command's ephemeral reply, a form's errors), through `respond()` (the
request's response_url) or through the per-request client Bolt builds. `guard_request` and
`GuardedAck`, installed on every request by the gate, put the same last line on those.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from bot.core.slack import GuardedClient, sanitise_arguments

# Keys of an acknowledgement body or a response_url message that people read.
REPLY_KEYS = frozenset({"text", "blocks", "attachments", "view", "errors", "options"})


def guard_reply(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A reply's text neutralised and redacted, as every Web API call's is."""
    guarded = dict(payload)
    for key in REPLY_KEYS & payload.keys():
        # Any text-bearing argument name gets the same treatment: "text" will do for all.
        cleaned = sanitise_arguments({"text": payload[key]}) or {}
        guarded[key] = cleaned["text"]
    return guarded


class GuardedRespond(AsyncRespond):
    """`respond()` whose message leaves through `guard_reply`."""

    async def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any] | Block] | None = None,
        attachments: Sequence[dict[str, Any] | Attachment] | None = None,
        response_type: str | None = None,
        replace_original: bool | None = None,
        delete_original: bool | None = None,
        unfurl_links: bool | None = None,
        unfurl_media: bool | None = None,
        thread_ts: str | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> WebhookResponse:
        given = {
            "blocks": blocks,
            "attachments": attachments,
            "response_type": response_type,
            "replace_original": replace_original,
            "delete_original": delete_original,
            "unfurl_links": unfurl_links,
            "unfurl_media": unfurl_media,
            "thread_ts": thread_ts,
            "metadata": metadata,
        }
        message = text if isinstance(text, dict) else {"text": text}
        message = {**message, **{key: value for key, value in given.items() if value is not None}}
        # A whole message (a dict) is sent as it is, so everything travels in it.
        return await super().__call__(guard_reply(message))


class GuardedAck(AsyncAck):
    """`ack()` whose answer (a command's reply, a form's errors) passes `guard_response`."""

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Bolt leaves __init__ unannotated

    async def __call__(self, *args: Any, **kwargs: Any) -> BoltResponse:
        answer = await super().__call__(*args, **kwargs)
        self.response = guard_response(answer) or answer
        return self.response


def guard_request(req: AsyncBoltRequest) -> None:
    """Give the listener a guarded `ack()`, `respond()` and per-request client."""
    context = req.context
    context["ack"] = GuardedAck()
    if context.response_url:
        context["respond"] = GuardedRespond(response_url=context.response_url)
    client = context.get("client")
    if isinstance(client, AsyncWebClient) and not isinstance(client, GuardedClient):
        context["client"] = GuardedClient(
            token=client.token,
            base_url=client.base_url,
            timeout=client.timeout,
            retry_handlers=client.retry_handlers,
        )


def guard_response(response: BoltResponse | None) -> BoltResponse | None:
    """The acknowledgement's body (a command's reply, a form's answer) through `guard_reply`.

    Bolt sends `ack(text=...)` alone as a plain-text body and anything richer as JSON.
    """
    if response is None or not isinstance(response.body, str) or not response.body:
        return response
    if response.body[:1] != "{":
        response.body = guard_reply({"text": response.body})["text"]
        return response
    try:
        payload = json.loads(response.body)
    except ValueError:
        return response
    if isinstance(payload, dict) and REPLY_KEYS & payload.keys():
        response.body = json.dumps(guard_reply(payload))
    return response
