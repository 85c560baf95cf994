"""The code red's scheduled side, derived from the database and the clock every minute.

Loans end by themselves (with a reminder the day before), red days get a call reminder whose
agenda is the open blockers, a level that outlasts its maximum asks the owner to reconfirm, and
the header is redrawn when its live figures or its day count change. Every message is a notice
unique on (code red, key): replicas and reruns send each exactly once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed
from bot.codered.service import active_loans, active_row, figures
from bot.codered.service.loans import end_loan
from bot.codered.service.options import Options, zone
from bot.codered.service.timeline import add_notice, day_number, day_start, local_today
from bot.standups import service as standups

CALL_LEAD = dt.timedelta(minutes=30)
CALL_LATE = dt.timedelta(minutes=60)
LOAN_REMINDER_HOUR = 9


@dataclass
class TickReport:
    loans_ended: int = 0
    loan_reminders: int = 0
    calls: int = 0
    reconfirms: int = 0
    header_redrawn: bool = False


async def tick(session: AsyncSession, opts: Options, now: dt.datetime) -> TickReport:
    report = TickReport()
    codered = await active_row(session)
    if codered is None:
        return report
    owner_zone = zone(await standups.user_timezone(session, codered.owner_id))
    report.header_redrawn = await _refresh_header(session, codered, owner_zone, now)
    await _loans(session, codered, now, report)
    if await _call_reminder(session, opts, codered, owner_zone, now):
        report.calls += 1
    if await _reconfirm(session, opts, codered, now):
        report.reconfirms += 1
    return report


async def _refresh_header(
    session: AsyncSession, codered: CodeRed, owner_zone: dt.tzinfo, now: dt.datetime
) -> bool:
    live = await figures.read(session, day_start(owner_zone, now), now)
    fingerprint = f"{day_number(codered, owner_zone, now)}|{live.fingerprint()}"
    if fingerprint == codered.header_fingerprint:
        return False
    codered.header_fingerprint = fingerprint  # the header watches its code red: this redraws it
    return True


async def _loans(
    session: AsyncSession, codered: CodeRed, now: dt.datetime, report: TickReport
) -> None:
    for loan in await active_loans(session, codered.id):
        if loan.until_date is None:
            continue
        today = await local_today(session, loan.user_id, now)
        if today > loan.until_date:
            await end_loan(session, codered, loan, "ended", loan.user_id, now)
            report.loans_ended += 1
            continue
        person_zone = zone(await standups.user_timezone(session, loan.user_id))
        morning = now.astimezone(person_zone).hour >= LOAN_REMINDER_HOUR
        if today == loan.until_date - dt.timedelta(days=1) and morning:
            for target in dict.fromkeys([loan.user_id, codered.owner_id]):
                key = f"loan_reminder:{loan.id}:{target}"
                data = {"loan": loan.id}
                if await add_notice(session, codered.id, key, "loan_reminder", target, data):
                    report.loan_reminders += 1


async def _call_reminder(
    session: AsyncSession,
    opts: Options,
    codered: CodeRed,
    owner_zone: dt.tzinfo,
    now: dt.datetime,
) -> bool:
    if codered.level not in opts.call_levels or not codered.channel_id:
        return False
    today = now.astimezone(owner_zone).date()
    if today.weekday() not in opts.days_for(codered.level) or today in opts.holidays:
        return False
    call_at = dt.datetime.combine(
        today, dt.time(opts.call_minute // 60, opts.call_minute % 60), owner_zone
    ).astimezone(dt.UTC)
    if not call_at - CALL_LEAD <= now < call_at + CALL_LATE:
        return False
    data = {"call_at": call_at.isoformat(), "tz": str(owner_zone)}
    return await add_notice(session, codered.id, f"call:{today}", "call", codered.channel_id, data)


async def _reconfirm(
    session: AsyncSession, opts: Options, codered: CodeRed, now: dt.datetime
) -> bool:
    limit = opts.max_level_days.get(codered.level)
    if not limit:
        return False
    since = max(codered.level_since, codered.level_confirmed_at or codered.level_since)
    if now - since < dt.timedelta(days=limit):
        return False
    key = f"reconfirm:{codered.level}:{since:%Y%m%dT%H%M%S}"
    data = {"level": codered.level, "days": (now - codered.level_since).days}
    return await add_notice(session, codered.id, key, "reconfirm", codered.owner_id, data)
