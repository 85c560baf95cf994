"""Who may see and change the code red: the feature's declarations for the access policy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed, CodeRedNotice
from bot.codered.options import Options
from bot.codered.service import active_row
from bot.core.access import ADMINS, EVERYONE, OWNERS, RecordPolicy, Subject, Users

CODERED = "codered"
ACTIVE, NEW = "active", "new"
CHANGE, DECLARE = "change", "declare"


def record_policy(opts: Options) -> RecordPolicy:
    """Everyone sees the code red; its owner, admins and declarers change it."""
    declarers = Users("declarers", lambda: opts.declarers)

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        if ref == NEW:
            return Subject(CODERED, NEW, "a code red")
        row = await active_row(session) if ref == ACTIVE else None
        if ref.isdigit():
            row = await session.get(CodeRed, int(ref))
        if row is None:
            return None
        return Subject(CODERED, str(row.id), "the code red", owners=frozenset({row.owner_id}))

    return RecordPolicy(
        CODERED,
        load,
        see=EVERYONE,
        verbs={
            CHANGE: (OWNERS | ADMINS | declarers).named(
                "the owner ({owners}), admins and declarers"
            ),
            DECLARE: (ADMINS | declarers).named(
                "admins and the code red declarers named in the config"
            ),
        },
        missing="There is no code red in progress. `/codered declare` starts one.",
    )


async def notice_codered(session: AsyncSession, notice_id: int) -> int | None:
    """The code red a posted question belongs to."""
    notice = await session.get(CodeRedNotice, notice_id)
    return notice.codered_id if notice else None
