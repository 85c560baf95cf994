"""The install pages sit behind the front door like every route: caps, no compressed bodies,
hostile queries answered with a 4xx page, a database outage a 503 that names nothing."""

from __future__ import annotations

import random
from typing import Any

from bot.core.installations import installations_table
from bot.sandbox.harness import PUBLIC_URL, running_bot
from tests.workspaces.test_oauth_install_e2e import add_to_slack, approve, count

PAGES = ("/slack/install", "/slack/oauth_redirect")


async def test_the_pages_exist_only_in_oauth_mode(db_url: str) -> None:
    async with running_bot(db_url, start_workers=False) as bot:
        for path in PAGES:
            assert (await bot.http.get(path)).status_code == 404


async def test_bodies_and_encodings_are_refused_at_the_door(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, start_workers=False) as bot:
        for path in PAGES:
            big = await bot.http.request("GET", path, content=b"x" * (64 * 1024 + 1))
            assert big.status_code == 413
            gzipped = await bot.http.request(
                "GET", path, content=b"x", headers={"Content-Encoding": "gzip"}
            )
            assert gzipped.status_code == 415


async def test_hostile_queries_get_a_4xx_page_and_store_nothing(db_url: str) -> None:
    noise = random.Random(7)
    async with running_bot(db_url, oauth=True, start_workers=False) as bot:
        for _ in range(20):
            junk = "".join(chr(noise.randrange(1, 0x3000)) for _ in range(noise.randrange(1, 60)))
            for query in (
                {"state": junk, "code": junk},
                {"error": junk, "state": junk},
                {"code": junk},
                {},
            ):
                answer = await bot.http.get(f"{PUBLIC_URL}/slack/oauth_redirect", params=query)
                assert 400 <= answer.status_code < 500 or (
                    answer.status_code == 200 and "was not installed" in answer.text
                ), answer.text
                assert "<script" not in answer.text.lower()
            body = bytes(noise.randrange(256) for _ in range(200))
            answer = await bot.http.request("GET", "/slack/install", content=body)
            assert answer.status_code < 500
        assert await count(bot, installations_table) == 0


async def test_a_code_slack_refuses_stores_nothing(db_url: str) -> None:
    async with running_bot(db_url, oauth=True, start_workers=False) as bot:
        link, _query = await add_to_slack(bot)
        back = await approve(link)
        for grant in bot.state.oauth.grants.values():
            grant.used = True  # Slack says invalid_code
        refused = await bot.http.get(back)
        assert refused.status_code == 401
        assert "Slack did not accept the installation code" in refused.text
        assert await count(bot, installations_table) == 0


async def test_a_database_failure_is_a_503_that_names_nothing(db_url: str, tmp_path: Any) -> None:
    from bot.core.db import make_engine

    async with running_bot(db_url, oauth=True, start_workers=False) as bot:
        broken = make_engine(f"sqlite:///{tmp_path}/missing-dir/opsbot.db")
        store = bot.rt.installations
        assert store is not None
        store.states.engine = broken
        answer = await bot.http.get(f"{PUBLIC_URL}/slack/install")
        await broken.dispose()
    assert answer.status_code == 503
    assert answer.json() == {"ok": False, "error": "the database is unavailable; deliver again"}
