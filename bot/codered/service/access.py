"""Who may see and change the code red: the feature's declarations for the access policy."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.codered.models import CodeRed, CodeRedNotice
from bot.codered.service import active_row
from bot.codered.service.options import Options
from bot.core.access import EVERYONE, OWNERS, Check, RecordPolicy, Rule, Subject, record_id

CODERED = "codered"
ACTIVE, NEW = "active", "new"
CHANGE, DECLARE = "change", "declare"


class _Declarers(Rule):
    """Admins and the declarers named in the config (`Options.can_declare`)."""

    description = "admins and the code red declarers named in the config"

    def __init__(self, opts: Options) -> None:
        self.opts = opts

    async def allows(self, check: Check) -> bool:
        return self.opts.can_declare(check.actor.user)


def record_policy(opts: Options) -> RecordPolicy:
    """Everyone sees the code red; admins and declarers declare one; its owner, admins and
    declarers change it. Commands, buttons and forms are checked here only (at the gate)."""
    declarers = _Declarers(opts)

    async def load(session: AsyncSession, ref: str) -> Subject | None:
        if ref == NEW:
            return Subject(CODERED, NEW, "a code red")
        row = await active_row(session) if ref == ACTIVE else None
        if (number := record_id(ref)) is not None:
            row = await session.get(CodeRed, number)
        if row is None:
            return None
        return Subject(CODERED, str(row.id), "the code red", owners=frozenset({row.owner_id}))

    return RecordPolicy(
        CODERED,
        load,
        see=EVERYONE,
        verbs={
            CHANGE: (OWNERS | declarers).named("the owner ({owners}), admins and declarers"),
            DECLARE: declarers,
        },
        missing="There is no code red in progress. `/codered declare` starts one.",
    )


async def notice_codered(session: AsyncSession, notice_id: int) -> int | None:
    """The code red a posted question belongs to."""
    notice = await session.get(CodeRedNotice, notice_id)
    return notice.codered_id if notice else None
