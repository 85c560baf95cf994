"""What /metrics tells an operator: bounded series, the work waiting, Slack calls, job misses."""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import insert

from bot.core.db import make_engine, make_sessionmaker, transaction, utcnow
from bot.core.metrics import Metrics
from bot.core.projector import Projection, Rendered
from bot.core.scheduler import JobSpec, Scheduler
from bot.core.tasks import Task
from bot.sandbox import seed
from bot.sandbox.harness import BotUnderTest, create_tables, running_bot


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of an exposition, by name and labels."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


async def scrape(bot: BotUnderTest) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await bot.http.get("/metrics")
    assert response.status_code == 200
    return samples(response.text)


async def test_random_unknown_paths_add_no_series(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/paths.db"
    await create_tables(url)
    async with running_bot(url, start_workers=False) as bot:
        await bot.http.get("/no-such-page")
        await bot.http.post("/webhooks/no-such-hook", content=b"{}")
        await scrape(bot)  # the scrape's own route, counted once it has answered
        before = await scrape(bot)
        for _ in range(100):
            await bot.http.get(f"/{secrets.token_hex(6)}/{secrets.token_hex(3)}")
            await bot.http.post(f"/webhooks/{secrets.token_hex(4)}", content=b"{}")
        after = await scrape(bot)
    assert after.keys() == before.keys()
    unmatched = ("opsbot_http_requests_total", (("route", "unmatched"), ("status", "404")))
    assert after[unmatched] - before[unmatched] >= 200  # counted, under one series
    assert ("process_cpu_seconds_total", ()) in after
    assert any(name == "python_info" for name, _ in after)
    assert any(name == "python_gc_collections_total" for name, _ in after)


async def test_backlog_dead_tasks_and_projector_lag_are_read_from_the_database(
    db_url: str,
) -> None:
    now = utcnow()

    def ago(seconds: float) -> dt.datetime:
        return now - dt.timedelta(seconds=seconds)

    def task(kind: str, status: str, run_after: dt.datetime) -> dict[str, object]:
        return {"kind": kind, "payload": {}, "status": status, "run_after": run_after}

    async with running_bot(db_url, start_workers=False) as bot:
        async with transaction(bot.rt.sessions) as session:
            await session.execute(
                insert(Task),
                [
                    task("obs.due", "pending", ago(30)),
                    task("obs.due", "pending", ago(5)),
                    task("obs.due", "pending", ago(-3600)),  # retrying later: not due
                    task("obs.dead", "dead", ago(600)),
                    task("obs.due", "done", ago(900)),
                ],
            )
            await session.execute(
                insert(Projection),
                [
                    {"kind": "obs.card", "record_id": "1", "version": 2, "synced_version": 1,
                     "updated_at": ago(40)},
                    {"kind": "obs.card", "record_id": "2", "version": 3, "synced_version": 3,
                     "updated_at": ago(400)},
                ],
            )  # fmt: skip
        found = await scrape(bot)
    assert found[("opsbot_task_backlog", (("kind", "obs.due"),))] == 2
    assert 29 <= found[("opsbot_task_oldest_seconds", (("kind", "obs.due"),))] < 90
    assert found[("opsbot_tasks_dead", (("kind", "obs.dead"),))] == 1
    assert ("opsbot_task_backlog", (("kind", "obs.dead"),)) not in found
    assert found[("opsbot_projector_dirty", ())] == 1
    assert 39 <= found[("opsbot_projector_lag_seconds", ())] < 100
    assert found[("opsbot_database_up", ())] == 1


async def test_a_scrape_during_a_database_outage_still_answers(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "db.sqlite"
    async with running_bot(f"sqlite+aiosqlite:///{missing}", start_workers=False) as broken:
        await broken.http.get("/livez")
        found = await scrape(broken)
    assert found[("opsbot_database_up", ())] == 0
    assert not any(name.startswith(("opsbot_task_", "opsbot_projector_")) for name, _ in found)
    assert ("opsbot_http_requests_total", (("route", "/livez"), ("status", "200"))) in found
    assert ("process_cpu_seconds_total", ()) in found


async def test_slack_calls_are_counted_by_method_and_result_from_every_client(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/calls.db"
    await create_tables(url)

    def counted(
        found: dict[tuple[str, tuple[tuple[str, str], ...]], float], m: str, r: str
    ) -> float:
        key = ("opsbot_slack_api_calls_total", (("method", m), ("result", r)))
        return found.get(key, 0.0)

    async with running_bot(url) as bot:
        before = await scrape(bot)
        # The retrying client: the 429 is retried and succeeds; both attempts count.
        bot.sandbox.state.faults.fail_next("users.info", "ratelimited", retry_after=0)
        await bot.rt.client.users_info(user=seed.ALICE)
        # The projector's client, which never retries: Slack's refusal is counted by its code.
        bot.rt.projector.register(
            "obs.card", load=_load, view=lambda _: Rendered(channel="C0NOWHERE", text="x")
        )
        async with transaction(bot.rt.sessions) as session:
            await session.execute(
                insert(Projection).values(kind="obs.card", record_id="7", version=1)
            )
            session.info["wake_projector"] = True
        await bot.settle()
        after = await scrape(bot)
    for method, result, more in (
        ("users.info", "ratelimited", 1),
        ("users.info", "ok", 1),
        ("chat.postMessage", "channel_not_found", 1),
    ):
        assert counted(after, method, result) - counted(before, method, result) == more


async def _load(_session: object, record_id: str) -> str:
    return record_id


async def test_a_missed_firing_is_counted(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path}/jobs.db")
    metrics = Metrics()
    scheduler = Scheduler(make_sessionmaker(engine), "replica-1", metrics)

    async def job() -> None:
        raise AssertionError("a missed firing must not run")

    scheduler.register(JobSpec(name="obs.hourly", func=job, description="", every_seconds=3600))
    scheduler.start()
    try:
        # The process was paused past the firing and its grace: APScheduler lets it go.
        assert scheduler._scheduler is not None
        scheduler._scheduler.modify_job(
            "obs.hourly", next_run_time=utcnow() - dt.timedelta(seconds=120), misfire_grace_time=1
        )
        for _ in range(100):
            if metrics.registry.get_sample_value(
                "opsbot_jobs_total", {"job_name": "obs.hourly", "result": "missed"}
            ):
                break
            await asyncio.sleep(0.02)
    finally:
        await scheduler.stop()
        await engine.dispose()
    found = samples(metrics.render().decode())
    assert found[("opsbot_jobs_total", (("job_name", "obs.hourly"), ("result", "missed")))] == 1
    assert ("opsbot_jobs_total", (("job_name", "obs.hourly"), ("result", "ok"))) not in found
