"""What a pull request says, and where its link may point."""

from __future__ import annotations

import pytest

from bot.agents.backends import github


def test_a_pull_request_names_who_asked_and_links_the_thread() -> None:
    body = github.pull_request_body("Retries twice.", "U0BOB", "https://app.slack.com/x", 2)
    assert body.startswith("Retries twice.\n\n")
    assert "`U0BOB`" in body and "(https://app.slack.com/x)" in body and "attempt 2" in body


def test_only_a_link_on_the_configured_forge_is_kept() -> None:
    forge = github.forge_host("https://github.example.com/{repo}.git")
    assert forge == "github.example.com"
    url = "https://github.example.com/o/r/pull/3"
    assert github.on_forge(url, forge) == url
    for elsewhere in ("https://evil.example/o/r/pull/3", "javascript:alert(1)"):
        with pytest.raises(github.GitHubError, match="outside github.example.com"):
            github.on_forge(elsewhere, forge)
