"""The other ways text leaves for Slack: acknowledgements, `respond()` and Bolt's own client.

`GuardedClient` covers the Web API calls the app makes. A listener can also answer in its
acknowledgement (a command's ephemeral reply, a form's errors), through `respond()` (the
request's response_url) or through the per-request client Bolt builds. `guard_request` and
`GuardedAck`, installed on every request by the gate, put the same last line on those. Text
written outside a listener (the gate's own refusals) goes through `bot.core.slack.guard_text`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.models.attachments import Attachment
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookResponse

from bot.core.slack import GuardedClient, guard_text, guard_value, pings_many

log = logging.getLogger(__name__)
# Keys of an acknowledgement body or a response_url message that people read.
REPLY_KEYS = frozenset(
    {"text", "blocks", "attachments", "view", "errors", "options", "option_groups"}
)
# Keys of such a body that are protocol values, not text.
PROTOCOL_KEYS = frozenset(
    {
        "response_type",
        "response_action",
        "replace_original",
        "delete_original",
        "unfurl_links",
        "unfurl_media",
        "thread_ts",
        "mrkdwn",
        "metadata",
        "link_names",
        "parse",
    }
)
# Reply keys that hold structure, walked when they arrive as a JSON string.
_STRUCTURED = frozenset({"blocks", "attachments", "view"})


def guard_reply(payload: Mapping[str, Any]) -> dict[str, Any]:
    """A reply's text neutralised and redacted, as every Web API call's is."""
    return {
        key: guard_value(value, structured=key in _STRUCTURED) if key in REPLY_KEYS else value
        for key, value in payload.items()
        if not pings_many(key, value)
    }


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
        self.response = guard_response(await super().__call__(*args, **kwargs))
        return self.response


def guard_request(req: AsyncBoltRequest) -> None:
    """Give the listener a guarded `ack()`, `respond()` and per-request client."""
    context = req.context
    context["ack"] = GuardedAck()
    client = context.get("client")
    if context.response_url:
        # The proxy and TLS settings Bolt's own respond() would take from the client.
        context["respond"] = GuardedRespond(
            response_url=context.response_url,
            proxy=getattr(client, "proxy", None),
            ssl=getattr(client, "ssl", None),
        )
    if isinstance(client, AsyncWebClient) and not isinstance(client, GuardedClient):
        context["client"] = GuardedClient.from_client(client)


def guard_response(response: BoltResponse) -> BoltResponse:
    """The acknowledgement's body (a command's reply, a form's answer) guarded.

    Bolt sends `ack(text=...)` alone as plain text and anything richer as JSON, and says which
    in the content type. A JSON reply is guarded key by key; a body that is not one (plain
    text, JSON that does not parse, or keys a reply does not have) is guarded as text.
    """
    if not isinstance(response.body, str) or not response.body:
        return response
    payload = _reply_payload(response)
    response.body = (
        guard_text(response.body) if payload is None else json.dumps(guard_reply(payload))
    )
    return response


def _reply_payload(response: BoltResponse) -> dict[str, Any] | None:
    content_types = response.headers.get("content-type") or [""]
    if not content_types[0].lower().startswith("application/json"):
        return None
    try:
        payload = json.loads(response.body)
    except ValueError:
        return None
    if not isinstance(payload, dict) or not payload.keys() <= REPLY_KEYS | PROTOCOL_KEYS:
        return None
    return payload


async def tell(client: AsyncWebClient, channel: str, user: str, text: str) -> bool:
    """An ephemeral to `user` in `channel`, after the interaction was acknowledged (a form's
    submission has no response_url); False, logged, when Slack refuses it."""
    try:
        await client.chat_postEphemeral(channel=channel, user=user, text=text)
    except SlackApiError as error:
        log.info("could not tell %s: %s", user, error.response.get("error"))
        return False
    return True


async def open_modal(client: AsyncWebClient, trigger_id: str, view: Any) -> bool:
    """Open `view` for the interaction's trigger; False, logged, when Slack refuses (the
    trigger expired after 3 s, or the view is malformed): the caller says what to do instead."""
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("views.open failed: %s", error.response.get("error"))
        return False
    return True
