"""Opening the pull request people chose from the comparison ("Open PR for attempt N")."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.agents.backends import github
from bot.agents.models import AgentRequest, AgentTask
from bot.agents.service.choices import thread_url
from bot.agents.settings import SECTION as AGENTS
from bot.config import reveal
from bot.core.db import transaction, utcnow

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


class PullRequests:
    """The `agents.open_pr` task: a draft PR for the attempt's pushed branch, on the forge."""

    def __init__(self, rt: FeatureContext) -> None:
        self.rt = rt

    async def __call__(self, payload: dict[str, Any]) -> None:
        task_id, by = int(payload["task_id"]), str(payload["by"])
        async with self.rt.sessions() as session:
            task = await session.get(AgentTask, task_id)
            request = await session.get(AgentRequest, task.request_id) if task else None
        if task is None or request is None or task.pr_url or not task.branch:
            return
        try:
            url = await self._open(task, request)
        except github.GitHubError as error:
            await self._tell(request, by, f":warning: No pull request for attempt "
                             f"{task.attempt}: {error}")  # fmt: skip
            return
        async with transaction(self.rt.sessions) as session:
            row = await session.get(AgentTask, task_id, with_for_update=True)
            if row is not None:
                row.pr_url = url
                row.pr_opened_at = utcnow()

    async def _open(self, task: AgentTask, request: AgentRequest) -> str:
        agents = self.rt.settings.section(AGENTS)
        token = reveal(agents.github_token)
        if not token:
            raise github.GitHubError("no forge token is configured (agents.github_token)")
        api = agents.github_api_url
        base = request.base_branch or await github.default_branch(
            token=token, repo=request.repo, api_url=api
        )
        thread = thread_url(request.team_id, request.channel, request.thread_ts)
        return await github.open_pull_request(
            token=token,
            repo=request.repo,
            head=str(task.branch),
            base=base or "main",
            title=request.instruction.splitlines()[0][:72],
            body=github.pull_request_body(task.summary, request.requester, thread, task.attempt),
            api_url=api,
            forge=github.forge_host(agents.git_url),
        )

    async def _tell(self, request: AgentRequest, user: str, text: str) -> None:
        try:
            await self.rt.client.chat_postEphemeral(
                channel=request.channel, user=user, text=text, thread_ts=request.thread_ts
            )
        except SlackApiError as error:
            log.warning("agents: could not say why no PR: %s", error.response.get("error"))
