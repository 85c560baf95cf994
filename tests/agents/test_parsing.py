"""Reading hand-offs: inline options, defaults from the config, and what is refused."""

from __future__ import annotations

import pytest

from bot.agents.service.parsing import (
    Catalog,
    parse_mention,
    parse_run,
    split_options,
    strip_mention,
)
from bot.agents.settings import AgentsConfig
from bot.core.commands import UsageError

CATALOG = Catalog(
    repos_by_channel={"C0DEV": "octo-org/octo-repo"},
    known_repos=frozenset({"octo-org/octo-repo", "octo-org/web"}),
    backends=("codex", "claude"),
)


def test_mention_takes_defaults_from_the_channel_and_the_first_backend() -> None:
    spec = parse_mention("<@U0BOT> fix the flaky login test", "U0BOT", CATALOG, "C0DEV")
    assert spec.instruction == "fix the flaky login test"
    assert (spec.repo, spec.backend, spec.attempts, spec.base_branch) == (
        "octo-org/octo-repo",
        "codex",
        1,
        None,
    )


def test_inline_options_anywhere_in_the_text() -> None:
    spec = parse_mention(
        "<@U0BOT> repo=octo-org/web fix the header backend=claude attempts=3 branch=release/2.0",
        "U0BOT",
        CATALOG,
        "C0DEV",
    )
    assert spec.instruction == "fix the header"
    assert (spec.repo, spec.backend, spec.attempts, spec.base_branch) == (
        "octo-org/web",
        "claude",
        3,
        "release/2.0",
    )


def test_multiline_instructions_keep_their_lines() -> None:
    instruction, options = split_options("fix it\n- keep the API\n- add a test attempts=2")
    assert instruction == "fix it\n- keep the API\n- add a test" and options == {"attempts": "2"}


def test_the_bot_mention_is_removed_wherever_it_is() -> None:
    assert strip_mention("please <@U0BOT|opsbot> look", "U0BOT") == "please look"
    assert strip_mention("<@U0BOT>: look", None) == "look"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("fix it repo=nope/nope", "Unknown repository `nope/nope`"),
        ("fix it repo=not-a-repo", "is not a repository"),
        ("fix it backend=warp", "Unknown backend `warp`"),
        ("fix it attempts=9", "from 1 to 4 (got `9`)"),
        ("fix it attempts=0", "from 1 to 4"),
        ("fix it attempts=two", "from 1 to 4"),
        ("fix it branch=..bad", "not a usable branch name"),
        ("fix it branch=-rf", "not a usable branch name"),
        ("attempts=2", "The instruction is empty"),
        ("fix it attempts=1 attempts=2", "given twice"),
    ],
)
def test_bad_mentions_are_refused(text: str, problem: str) -> None:
    with pytest.raises(UsageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        parse_mention(text, None, CATALOG, "C0DEV")


def test_no_repository_anywhere_is_refused() -> None:
    with pytest.raises(UsageError, match="No repository"):
        parse_mention("fix it", None, CATALOG, "C0OTHER")


def test_run_takes_the_repository_first() -> None:
    spec = parse_run("octo-org/web make it faster attempts=2", CATALOG, "C0OTHER")
    assert (spec.repo, spec.instruction, spec.attempts) == ("octo-org/web", "make it faster", 2)
    with pytest.raises(UsageError, match="once"):
        parse_run("octo-org/web do it repo=octo-org/web", CATALOG, None)


def test_catalog_knows_repos_from_channels_and_checkouts() -> None:
    config = AgentsConfig(
        backends=[{"name": "local", "kind": "command", "command": ["codex", "exec", "--json"]}],
        repos={"C0DEV": "octo-org/octo-repo"},
        checkouts={"octo-org/tools": "/src/tools"},
    )
    catalog = Catalog.from_config(config)
    assert catalog.known_repos == {"octo-org/octo-repo", "octo-org/tools"}
    assert catalog.backends == ("local",)


def test_an_unknown_backend_kind_is_a_config_error() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="must name an agent backend kind"):
        AgentsConfig(backends=[{"name": "x", "kind": "openhands"}])


def test_a_backend_missing_its_address_stops_start_up(tmp_path: object) -> None:
    from bot.app import build_runtime
    from bot.config import ConfigError, Settings

    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        agents={"backends": [{"name": "remote", "kind": "a2a"}]},
    )
    with pytest.raises(ConfigError, match=r"agents.backends.0: agent backend 'remote' \(a2a\)"):
        build_runtime(settings)
    settings = Settings(
        database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db",
        agents={"backends": [{"name": "gh", "kind": "github"}]},
    )
    with pytest.raises(ConfigError, match="'github' is not an agent backend kind"):
        build_runtime(settings)
