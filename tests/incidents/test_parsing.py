"""Reading `/incident` command text."""

from __future__ import annotations

import pytest

from bot.core.commands import UsageError
from bot.incidents.service.parsing import parse, plain_mentions, user_from_mention

SEVERITIES = ("sev1", "sev2", "sev3")


def test_declare_takes_trailing_severity_and_keeps_apostrophes() -> None:
    request = parse("declare we can't reach the db SEV1", SEVERITIES)
    assert (request.sub, request.text, request.severity) == (
        "declare",
        "we can't reach the db",
        "sev1",
    )


def test_declare_without_severity_and_with_quotes() -> None:
    request = parse('declare "Checkout is down"', SEVERITIES)
    assert (request.text, request.severity) == ("Checkout is down", None)


@pytest.mark.parametrize("text", ["declare", "declare   ", "declare sev2", 'declare "" sev1'])
def test_declare_without_title_is_refused(text: str) -> None:
    with pytest.raises(UsageError, match="title"):
        parse(text, SEVERITIES)


def test_declare_with_unknown_severity_is_refused() -> None:
    with pytest.raises(UsageError, match="Unknown severity `sev9`"):
        parse("declare db down sev9", SEVERITIES)


def test_unknown_subcommand() -> None:
    with pytest.raises(UsageError, match="frobnicate"):
        parse("frobnicate 42", SEVERITIES)


def test_structured_numbers_bare_or_hashed() -> None:
    assert parse("status 42 mitigated", SEVERITIES).bare_number == 42
    hashed = parse("sev #7 sev1", SEVERITIES)
    assert (hashed.explicit_number, hashed.words) == (7, ("sev1",))
    assert parse("sev sev1", SEVERITIES).bare_number is None


def test_free_text_keeps_leading_number_for_in_channel_use() -> None:
    request = parse("update 500 errors are back", SEVERITIES)
    assert request.bare_number == 500
    assert request.text == "errors are back"
    assert request.text_with_number == "500 errors are back"


def test_role_reads_slack_escaped_mention() -> None:
    request = parse("role 12 Commander <@U0BOB|bob>", SEVERITIES)
    assert (request.bare_number, request.words, request.user_id) == (12, ("commander",), "U0BOB")


@pytest.mark.parametrize("text", ["role commander", "role commander bob", "role @bob"])
def test_role_needs_a_role_and_a_mention(text: str) -> None:
    with pytest.raises(UsageError):
        parse(text, SEVERITIES)


def test_followup_owner_is_the_trailing_mention() -> None:
    request = parse("followup #3 add an alert on disk <@U0CAROL|carol>", SEVERITIES)
    assert (request.explicit_number, request.text, request.user_id) == (
        3,
        "add an alert on disk",
        "U0CAROL",
    )
    assert parse("followup write docs", SEVERITIES).user_id is None


def test_mentions() -> None:
    assert user_from_mention("<@U0ALICE|alice>") == "U0ALICE"
    assert user_from_mention("<@U0ALICE>") == "U0ALICE"
    assert user_from_mention("@alice") is None
    assert plain_mentions("ask <@U1|bob> now") == "ask <@U1> now"
