"""`/standup` text: parsing it (pure) and checking what it asks for.

The listener in `bot.standups.handlers` carries out each subcommand with `run`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from bot.core.commands import Usage, UsageError, split_args
from bot.standups import service
from bot.standups.service import DEFAULT_QUESTIONS, StandupSpec, schedule

USAGE = Usage(
    command="/standup",
    summary="daily standups by DM, with a digest in the team's channel",
    lines=(
        ("create", "open the form to set up a standup"),
        (
            'create "<name>" #channel HH:MM @people… [@group] [days=mon-fri] [tz=Europe/Paris] '
            "[reminder=60] [cutoff=180]",
            "set one up in one line (no tz: each person's own time zone)",
        ),
        ("list", "every standup and its schedule"),
        ("edit <name>", "change a standup (its creator or an admin)"),
        ("pause <name>", "stop sending prompts until resumed"),
        ("resume <name>", "start again"),
        ("skip <dates>", "your days off: 2026-03-02, 2026-03-02..2026-03-06, tomorrow, friday"),
        ("stats <name>", "response rate per person over 30 days, and streaks"),
        ("help", "this help"),
    ),
)
_USER = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_CHANNEL = re.compile(r"^<#([CG][A-Z0-9]+)(?:\|[^>]*)?>$")
_GROUP = re.compile(r"^<!subteam\^([A-Z0-9]+)(?:\|[^>]*)?>$")
_TIME = re.compile(r"^\d{1,2}[:h.]\d{2}$")
NAMED = ("edit", "pause", "resume", "stats")  # the subcommands that name a standup


@dataclass
class CreateText:
    spec: StandupSpec
    group: str | None = None


@dataclass
class Simple:
    verb: str  # list | edit | pause | resume | stats | form
    name: str = ""


@dataclass
class Skip:
    days: list[dt.date] = field(default_factory=list)


Parsed = CreateText | Simple | Skip


def parse(text: str, today: dt.date) -> Parsed:
    words = split_args(text)
    verb, rest = words[0].lower(), words[1:]
    if verb == "create":
        return Simple("form") if not rest else _create(rest)
    if verb == "list":
        return Simple("list")
    if verb in NAMED:
        if not rest:
            raise UsageError(f"`/standup {verb}` needs the standup's name.")
        return Simple(verb, " ".join(rest))
    if verb == "skip":
        try:
            return Skip(schedule.parse_dates(rest, today))
        except ValueError as problem:
            raise UsageError(str(problem)) from None
    raise UsageError(f"I don't know `/standup {words[0]}`.")


def _create(words: list[str]) -> CreateText:
    name: list[str] = []
    options: dict[str, str] = {}
    users: list[str] = []
    channel = group = time_text = None
    for word in words:
        if match := _USER.match(word):
            users.append(match.group(1))
        elif match := _CHANNEL.match(word):
            channel = match.group(1)
        elif match := _GROUP.match(word):
            group = match.group(1)
        elif _TIME.match(word):
            time_text = word
        elif word.startswith(("@", "#")):
            raise UsageError(
                f"`{word}` did not come through as a mention: pick people, channels and groups "
                "from Slack's suggestions as you type."
            )
        elif "=" in word:
            key, _, value = word.partition("=")
            options[key.lower()] = value
        else:
            name.append(word)
    unknown = set(options) - {"days", "tz", "reminder", "cutoff", "time"}
    if unknown:
        raise UsageError(f"I don't know the option `{sorted(unknown)[0]}=`.")
    time_text = options.get("time", time_text)
    if not time_text:
        raise UsageError("Give the time of the standup as HH:MM, e.g. 09:30.")
    try:
        spec = StandupSpec(
            name=" ".join(name),
            channel=channel,
            questions=list(DEFAULT_QUESTIONS),
            days=schedule.parse_days(options.get("days", "mon-fri")),
            minute_of_day=schedule.parse_time(time_text),
            fixed_tz=schedule.check_zone(options["tz"]) if "tz" in options else None,
            reminder_minutes=_minutes(options.get("reminder", "60"), "reminder"),
            cutoff_minutes=_minutes(options.get("cutoff", "180"), "cutoff"),
            users=users,
            usergroup=group,
        )
    except ValueError as problem:
        raise UsageError(str(problem)) from None
    return CreateText(spec, group)


def _minutes(text: str, what: str) -> int:
    if not text.strip().isdigit():
        raise ValueError(f"`{what}={text}` must be a number of minutes")
    return int(text)


def check_spec(spec: StandupSpec) -> None:
    problems = service.spec_problems(spec)
    if problems:
        raise UsageError(next(iter(problems.values())))
