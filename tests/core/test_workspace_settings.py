"""Per-workspace settings: the top-level keys are defaults, `workspaces:` overrides them for one
workspace, a bad override is named with its file and line, and `/ops settings` shows an admin
what is in force in their workspace."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings, load_settings
from bot.incidents.settings import SECTION as INCIDENTS
from bot.sandbox.harness import running_bot
from bot.sandbox.state import TEAM_ID

BASE = {
    "admins": ["U0ALICE"],
    "incidents": {"announce_channel": "C0BASE", "severities": ["sev1", "sev2"]},
    "ci": {"github_token": "ghp_" + "a" * 36},
}


def test_a_workspace_overrides_only_what_it_names() -> None:
    settings = Settings(
        **BASE,
        workspaces={"T0TWO": {"admins": ["U0BOB"], "incidents": {"announce_channel": "C0TWO"}}},
    )
    two = settings.section(INCIDENTS, "T0TWO")
    assert (two.announce_channel, two.severities) == ("C0TWO", ["sev1", "sev2"])
    assert settings.for_team("T0TWO").admins == ["U0BOB"]
    # Another workspace, and no workspace at all, see the defaults.
    assert settings.section(INCIDENTS, "T0ONE").announce_channel == "C0BASE"
    assert settings.section(INCIDENTS).announce_channel == "C0BASE"
    assert settings.for_team("T0ONE").admins == ["U0ALICE"]


def test_bad_overrides_are_named_with_their_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "opsbot.yml"
    config.write_text(
        "workspaces:\n"
        "  T0TWO:\n"
        "    incidents:\n"
        "      announce_channel: general\n"
        "  acme:\n"
        "    admins: [U0BOB]\n"
        "  T0THREE:\n"
        "    database_url: sqlite:///other.db\n"
    )
    monkeypatch.setenv("OPSBOT_CONFIG", str(config))
    with pytest.raises(ConfigError) as raised:
        load_settings()
    lines = raised.value.lines
    assert any(
        f"{config}:4: setting workspaces.T0TWO.incidents.announce_channel: must match" in line
        for line in lines
    ), lines
    assert any(f"{config}:5: setting workspaces.acme: must match" in line for line in lines)
    assert f"{config}:8: setting workspaces.T0THREE.database_url: is not a known setting" in lines


async def test_ops_settings_shows_an_admin_their_workspace(db_url: str) -> None:
    overrides = {TEAM_ID: {"admins": ["U0CAROL"], "incidents": {"announce_channel": "C0TWO"}}}
    async with running_bot(db_url, **BASE, workspaces=overrides) as bot:
        shown = (await bot.slack.command("/ops", "settings", user="U0CAROL")).json()["text"]
        assert f"({TEAM_ID})" in shown and "overrides applied" in shown
        assert "announce_channel: C0TWO" in shown and "- sev2" in shown
        # The token is masked (and the guarded client would redact it anyway).
        token_lines = [line for line in shown.splitlines() if "github_token" in line]
        assert len(token_lines) == 2  # ci's and agents'
        assert "a" * 36 not in shown and not any("ghp_" in line for line in token_lines)
        # The default admins are not this workspace's: its own list replaced them.
        refused = (await bot.slack.command("/ops", "settings", user="U0ALICE")).json()["text"]
        assert refused.startswith("Only this workspace's opsbot admins")
        assert "C0TWO" not in refused
