"""Builds the process: database, Slack client, Bolt app, web app, projector, tasks, scheduler."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from fastapi import APIRouter, FastAPI
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import Settings, reveal
from bot.core import inbox, ledger, ratebudget, tasks, workspaces
from bot.core.access import Policy, channel_policy
from bot.core.commands import CommandRegistry
from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.departures import Departures, forget_departed
from bot.core.directory import Directory
from bot.core.events import EventBus
from bot.core.gate import Gate
from bot.core.identity import BotIdentity
from bot.core.installations import (
    REVOCATION_EVENTS,
    WELCOME_TASK,
    Installations,
    prune_states,
    welcome_payload,
    workspace_of,
)
from bot.core.known_workspaces import KnownWorkspaces
from bot.core.leases import new_replica_id
from bot.core.metrics import Metrics
from bot.core.projector_worker import Projector
from bot.core.ratebudget import make_pacer
from bot.core.scheduler import JobSpec, Scheduler, prune_firings
from bot.core.slack import make_client
from bot.core.token_cipher import TokenCipher
from bot.core.wakeups import WakeListener
from bot.core.workspaces import Workspace
from bot.features import FEATURES
from bot.web import create_web_app

log = logging.getLogger(__name__)

# What a failed interaction (button, form, shortcut) hears: the reason goes to the log only.
LISTENER_FAILED = json.dumps(
    {"ok": False, "error": "the request failed on our side and changed nothing; try again"}
)


@dataclass
class Tuning:
    """Timings that tests and the demo shorten; production keeps the defaults."""

    lease_seconds: float = 30.0
    task_sweep_seconds: float = 2.0
    task_concurrency: int = 32
    projector_sweep_seconds: float = 5.0
    backoff_base: float = 1.0
    pacer_speedup: float = 1.0


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    client: AsyncWebClient
    bolt: AsyncApp
    projector: Projector
    tasks: tasks.TaskRunner
    scheduler: Scheduler
    metrics: Metrics
    commands: CommandRegistry
    replica_id: str
    identity: BotIdentity
    events: EventBus
    policy: Policy
    gate: Gate
    wakeups: WakeListener
    installations: Installations | None = None
    departures: Departures | None = None
    known: KnownWorkspaces | None = None
    routers: list[APIRouter] = field(default_factory=list)
    stop_hooks: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    web: FastAPI | None = None
    started: bool = False
    _adopting: asyncio.Task[None] | None = None
    _departures_read: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Start the workers: the projector, the task runner and the scheduler."""
        if self.started:
            return
        self.started = True
        self.identity.refresh_soon()
        if self.installations is None:
            self._adopting = asyncio.create_task(self._adopt_unnamed_rows())
        if self.departures is not None:
            self._departures_read = asyncio.create_task(self.departures.keep_fresh())
        self.projector.start()
        self.tasks.start()
        self.scheduler.start()
        self.wakeups.start()

    async def _adopt_unnamed_rows(self) -> None:
        """Single-token mode: rows stored before the workspace was named (an upgraded
        single-workspace database) are given its team once auth.test has said it."""
        while self.started:
            with workspaces.within(None):
                me = await self.identity.current()
            if me is not None and me.team_id:
                try:
                    adopted = await workspaces.adopt(self.sessions, Workspace(me.team_id))
                except Exception:
                    log.exception("rows without a workspace could not be given %s", me.team_id)
                else:
                    if adopted:
                        log.info("%d rows given to workspace %s", adopted, me.team_id)
                return
            await asyncio.sleep(self.identity.retry_seconds)

    def workers_running(self) -> bool:
        """Whether this process does its share of stored work (tasks and card syncs)."""
        return self.started and self.tasks.running() and self.projector.running()

    def on_stop(self, hook: Callable[[], Awaitable[None]]) -> None:
        """Run `hook` first when the process stops (a feature's own loops end there)."""
        self.stop_hooks.append(hook)

    async def stop(self, grace: float | None = None) -> None:
        """Stop taking work; let what runs finish within the grace period, give the rest back.

        Tasks go first, so that the cards they change are synced before the projector stops.
        """
        if self.started:
            self.started = False
            loop = asyncio.get_running_loop()
            grace = self.settings.shutdown_grace_seconds if grace is None else grace
            deadline = loop.time() + grace
            log.info("stopping: %gs for running work", grace)
            for helper in (self._adopting, self._departures_read):
                if helper is not None:
                    helper.cancel()
            for hook in self.stop_hooks:
                await hook()
            await self.scheduler.stop()
            await self.tasks.stop(grace=max(0.0, deadline - loop.time()))
            log.info("stopping: tasks stopped")
            try:  # cards those tasks changed are shown before the projector stops
                await self.projector.drain(timeout=min(5.0, max(0.0, deadline - loop.time())))
            except Exception as error:  # out of time, or the database is gone
                log.info("stopping: cards left out of sync for other replicas (%r)", error)
            await self.projector.stop(grace=max(0.0, deadline - loop.time()))
            log.info("stopping: card syncs stopped")
            await self.wakeups.stop()
        await self.engine.dispose()

    async def settle(self, timeout: float = 15.0) -> None:
        """Wait until every task has run and every view is in sync."""
        for _ in range(3):
            await self.tasks.drain(timeout)
            await self.projector.drain(timeout)


def build_bolt(
    settings: Settings, identity: BotIdentity, installations: Installations | None = None
) -> AsyncApp:
    """Single-token mode: `identity` authorizes every request with SLACK_BOT_TOKEN. OAuth mode
    (`installations`): Bolt's install flow, requests authorized from the installation store by
    their team, and Bolt's own listeners delete a workspace's rows when it uninstalls."""

    # Bolt injects arguments by name, so it needs a plain function rather than a bound method.
    async def authorize(
        enterprise_id: str | None, team_id: str | None, context: Any
    ) -> AuthorizeResult:
        return await identity.authorize(enterprise_id, team_id, context)

    chosen: Callable[..., Awaitable[AuthorizeResult]] = authorize
    if installations is not None:  # Bolt takes its own AsyncAuthorize as it is (typed loosely)
        chosen = cast(Callable[..., Awaitable[AuthorizeResult]], installations.authorize)
    # A client without a token makes Bolt use `authorize` instead of calling auth.test itself.
    bolt = AsyncApp(
        client=make_client(None, settings.slack_api_url),
        authorize=chosen,
        oauth_settings=installations.settings if installations else None,
        # Verification is always on. Socket Mode requests skip it in Bolt (the websocket is
        # authenticated by the app token); without a signing secret no HTTP route reaches Bolt,
        # and a random one means a request signed with an empty key could never pass anyway.
        signing_secret=reveal(settings.slack_signing_secret) or secrets.token_hex(32),
        request_verification_enabled=True,
        # Listeners only write rows; answering after they finish keeps acknowledged work durable.
        process_before_response=True,
        raise_error_for_unhandled_request=False,
    )
    # Every listener (and what it stores or enqueues) is within the request's workspace.
    bolt.use(workspaces.enter_from_request)
    if installations is not None:
        # app_uninstalled, tokens_revoked: the workspace's rows go before Slack hears "200".
        bolt.enable_token_revocation_listeners()
    return bolt


def build_installations(settings: Settings, engine: AsyncEngine) -> Installations | None:
    """OAuth mode's stores and flow, when SLACK_CLIENT_ID and SLACK_CLIENT_SECRET are set."""
    client_secret = reveal(settings.slack_client_secret)
    if not settings.slack_client_id or not client_secret or not settings.opsbot_public_url:
        return None
    return Installations(
        client_id=settings.slack_client_id,
        client_secret=client_secret,
        scopes=settings.slack_scopes,
        public_url=settings.opsbot_public_url,
        api_url=settings.slack_api_url,
        engine=engine,
        client=make_client(None, settings.slack_api_url),
        cipher=TokenCipher(token_key) if (token_key := reveal(settings.opsbot_token_key)) else None,
    )


def build_runtime(settings: Settings, tuning: Tuning | None = None) -> Runtime:
    tuning = tuning or Tuning(**settings.tuning.model_dump())
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    metrics = Metrics()
    replica_id = new_replica_id()
    # Commands that never reach Slack (`jobs list`, `check`) work without a token.
    token = reveal(settings.slack_bot_token) or "xoxb-not-configured"
    installations = build_installations(settings, engine)
    # OAuth mode: the process-wide clients (workers, projector, lookups) speak with the bot
    # token of the workspace the work is within (`bot.core.workspaces`).
    source = installations.bot_token if installations else None
    org_team = installations.org_team if installations else None
    api_url = settings.slack_api_url
    client = make_client(token, api_url, token_source=source, org_workspace=org_team)
    projector_client = make_client(
        token, api_url, handlers=[], token_source=source, org_workspace=org_team
    )
    identity = BotIdentity(
        make_client(
            token, api_url, timeout=5, handlers=[], token_source=source, org_workspace=org_team
        ),
        token,
        per_workspace=installations is not None,
    )
    departures = Departures(sessions)
    known = KnownWorkspaces(sessions, departures, oauth=installations is not None)
    if installations is not None:
        installations.store.on_change.append(identity.retry_soon)
        installations.store.on_departure.append(departures.depart)
        installations.store.on_departure.append(identity.forget)
        installations.store.on_install.append(departures.returned)
        installations.store.on_install.append(known.note)
    bolt = build_bolt(settings, identity, installations)
    # Membership lookups and the gate's refusals happen before Slack's 3 s acknowledgement:
    # their client does not retry (a refusal is posted at most once) and gives up quickly.
    access_client = make_client(
        token, api_url, timeout=2, handlers=[], token_source=source, org_workspace=org_team
    )
    directory = Directory(access_client, ttl=settings.membership_ttl_seconds)
    # The admins of the workspace the request is within (its `workspaces:` override, if any).
    policy = Policy(directory, admins=lambda: settings.here().admins)
    usages = CommandRegistry()
    projector = Projector(
        sessions,
        projector_client,
        replica_id,
        metrics,
        # Slack's budget is the workspace's: on PostgreSQL every replica takes from one table.
        pacer=make_pacer(
            engine, speedup=tuning.pacer_speedup, per_workspace=installations is not None
        ),
        lease_seconds=tuning.lease_seconds,
        sweep_seconds=tuning.projector_sweep_seconds,
        backoff_base=tuning.backoff_base,
    )
    runner = tasks.TaskRunner(
        sessions,
        replica_id,
        metrics,
        lease_seconds=tuning.lease_seconds,
        concurrency=tuning.task_concurrency,
        sweep_seconds=tuning.task_sweep_seconds,
        backoff_base=tuning.backoff_base,
    )
    rt = Runtime(
        settings=settings,
        engine=engine,
        sessions=sessions,
        client=client,
        bolt=bolt,
        identity=identity,
        events=EventBus(),
        policy=policy,
        gate=Gate(bolt, policy, sessions, access_client, usages),
        projector=projector,
        tasks=runner,
        installations=installations,
        departures=departures,
        known=known,
        wakeups=WakeListener(
            engine,
            {
                runner.worker.queue.wake_flag: runner.wake,
                projector.worker.queue.wake_flag: projector.wake,
            },
        ),
        scheduler=Scheduler(sessions, replica_id, metrics, workspaces=known.for_jobs),
        metrics=metrics,
        commands=usages,
        replica_id=replica_id,
    )
    # In OAuth mode Bolt's own revocation listeners take app_uninstalled and tokens_revoked.
    at_front_door = REVOCATION_EVENTS if installations else frozenset()
    rt.on_stop(
        inbox.install(
            bolt, sessions, rt.events, rt.tasks, identity, metrics, to_bolt=at_front_door
        ).close
    )
    bolt.error(answer_listener_failure)
    policy.register(channel_policy())
    register_core_jobs(rt)
    if installations is not None:
        register_welcome(rt, installations)
    for package in FEATURES:
        importlib.import_module(f"{package}.handlers").register(rt)
    rt.web = create_web_app(rt)
    return rt


async def answer_listener_failure(
    error: Exception, request: AsyncBoltRequest
) -> BoltResponse | None:
    """A listener crashed and its transaction rolled back. A command gets an ephemeral apology;
    anything else a 503 with a fixed text: the error, which may name a host, goes to the log."""
    log.exception("listener failed: %r", error)
    if request.body.get("command"):
        text = "Sorry, that command failed on my side and changed nothing. Please try again."
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", "text": text}),
            headers={"content-type": ["application/json"]},
        )
    return BoltResponse(
        status=503, body=LISTENER_FAILED, headers={"content-type": ["application/json"]}
    )


def register_welcome(rt: Runtime, installations: Installations) -> None:
    """The installer is told in Slack, by DM, what to do next: a durable task within the new
    workspace, made when the install is stored."""

    async def welcome(installation: Installation) -> None:
        if not installation.user_id:
            return
        workspace = workspace_of(installation)
        async with transaction(rt.sessions) as session:
            with workspaces.within(workspace):
                await tasks.enqueue(
                    session,
                    WELCOME_TASK,
                    welcome_payload(installation),
                    key=f"{WELCOME_TASK}:{workspace.team_id}:{installation.installed_at}",
                )

    async def send(payload: dict[str, Any]) -> None:
        opened = await rt.client.conversations_open(users=payload["user"])
        await rt.client.chat_postMessage(channel=opened["channel"]["id"], text=payload["text"])

    installations.on_completed.append(welcome)
    rt.tasks.register(WELCOME_TASK, send)


def register_core_jobs(rt: Runtime) -> None:
    async def retention() -> None:
        """Forget bookkeeping rows past their retention window (settings.retention)."""
        keep, now = rt.settings.retention, utcnow()
        pruned = {
            "done tasks": await tasks.prune(rt.sessions, "done", now - _days(keep.tasks_days)),
            "dead tasks": await tasks.prune(rt.sessions, "dead", now - _days(keep.dead_tasks_days)),
            "job firings": await prune_firings(rt.sessions, now - _days(keep.job_firings_days)),
            "ledger rows": await ledger.prune(rt.sessions, now - _days(keep.ledger_days)),
            # Buckets refill within minutes: a day idle is a channel the bot left.
            "idle rate budgets": await ratebudget.prune(rt.sessions, now - _days(1)),
            # An install page opened and left: its state expired ten minutes later.
            "expired install states": await prune_states(rt.sessions, now),
            # Kept this long after an uninstall, for a reinstall to find them.
            "rows of uninstalled workspaces": await forget_departed(
                rt.sessions, now - _days(keep.uninstalled_days)
            ),
        }
        log.info("retention: deleted %s", ", ".join(f"{n} {what}" for what, n in pruned.items()))

    rt.scheduler.register(
        JobSpec(
            # The name predates the other tables; operators and scripts already call it.
            name="core.prune_ledger",
            func=retention,
            description="retention: delete done/dead tasks, job firings and delivery ids "
            "past the retention settings, rate budget rows idle for a day, expired install"
            " states and the records of workspaces uninstalled for retention.uninstalled_days",
            cron="17 3 * * *",
            per_workspace=False,
        )
    )


def _days(days: float) -> dt.timedelta:
    return dt.timedelta(days=days)


def app_from_environment() -> FastAPI:
    """The web app of one worker process of `opsbot serve --workers N`."""
    from bot.config import load_settings

    web = build_runtime(load_settings()).web
    assert web is not None
    return web
