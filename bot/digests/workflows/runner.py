"""Durable steps of a digest run: the minute sweep, building the snapshot, the weekly chart.

Each step is idempotent: a run is built only while pending, and the chart is uploaded only while
the run has no chart file recorded.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.core.db import transaction, utcnow
from bot.core.projector import posted_ts
from bot.digests import service
from bot.digests.models import DigestRun
from bot.digests.service import sections
from bot.digests.service.loaders import state_of
from bot.digests.service.sections import scope_of
from bot.digests.settings import SECTION as DIGESTS
from bot.digests.views import chart, title

if TYPE_CHECKING:
    from bot.feature import FeatureContext

log = logging.getLogger(__name__)


async def sweep(rt: FeatureContext, now: dt.datetime | None = None) -> list[int]:
    """The minute job's body: create the runs of every digest due at `now`."""
    async with transaction(rt.sessions) as session:
        in_force = await service.specs(session, rt.settings.section(DIGESTS))
        return await service.create_due_runs(session, in_force, now or utcnow())


async def _permalinks(rt: FeatureContext, channel: str, snapshot: dict[str, Any]) -> dict[str, str]:
    activity = snapshot.get("activity") or {}
    wanted = [item["ts"] for item in activity.get("threads", []) + activity.get("unanswered", [])]
    links = {}
    for ts in dict.fromkeys(wanted):
        try:
            response = await rt.client.chat_getPermalink(channel=channel, message_ts=ts)
        except SlackApiError as error:  # deleted since, or no access: the line goes unlinked
            log.info("no permalink for %s/%s: %s", channel, ts, error.response.get("error"))
            continue
        links[ts] = str(response["permalink"])
    return links


async def build(rt: FeatureContext, payload: dict[str, Any]) -> None:
    run_id = int(payload["run"])
    async with rt.sessions() as session:
        run = await session.get(DigestRun, run_id)
    if run is None or run.status != "pending":
        return
    snapshot = await sections.compose(rt.sessions, scope_of(rt.settings, run, rt.policy))
    snapshot["links"] = await _permalinks(rt, run.channel, snapshot)
    async with transaction(rt.sessions) as session:
        status = await service.store_snapshot(session, run_id, snapshot)
    log.info("digest run %s for %s: %s", run_id, run.channel, status)


async def upload_chart(rt: FeatureContext, payload: dict[str, Any]) -> None:
    run_id = int(payload["run"])
    async with rt.sessions() as session:
        run = await session.get(DigestRun, run_id)
        if run is None or run.status != "ready" or run.chart_file_id:
            return
        # The chart follows its digest in the channel; until the digest is out, try again.
        await posted_ts(session, service.VIEW, run_id)
        series = await sections.chart_series(session, scope_of(rt.settings, run, rt.policy))
    name = title(state_of(run))
    png = await asyncio.to_thread(
        chart.render_png, series.days, series.incidents, series.red_minutes, name
    )
    response = await rt.client.files_upload_v2(
        channel=run.channel,
        file=png,
        filename=f"digest-{run.fire_time:%Y-%m-%d}.png",
        title=f"{name}: incidents and CI red minutes per day, last four weeks",
        alt_txt="Bar charts of incidents declared and CI red minutes per day over four weeks",
    )
    file_id = str((response.get("file") or response["files"][0])["id"])
    async with transaction(rt.sessions) as session:
        stored = await session.get(DigestRun, run_id, with_for_update=True)
        if stored is not None:
            stored.chart_file_id = file_id
