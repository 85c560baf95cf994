"""Incident snapshots for the pure view and postmortem tests."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from bot.incidents.service.state import EntryState, FollowUpState, IncidentState, Options

T0 = dt.datetime(2026, 3, 14, 9, 0, tzinfo=dt.UTC)
OPTIONS = Options(
    severities=("sev1", "sev2", "sev3"),
    statuses=("investigating", "identified", "mitigated", "resolved"),
    roles=("commander", "communications", "scribe"),
    announce_channel="C0INCIDENTS",
    intervals=(("sev1", 30), ("sev2", 60)),
)


def incident(**changes: Any) -> IncidentState:
    base = IncidentState(
        # The primary key differs from the number, so a view showing the key is caught.
        id=9042,
        number=42,
        title="Checkout is down",
        description="Payments fail with 502",
        severity="sev1",
        status="investigating",
        private=False,
        reporter_id="U0ALICE",
        channel_id="C0INC42",
        channel_name="inc-20260314-checkout-is-down",
        declared_at=T0,
        mitigated_at=None,
        resolved_at=None,
        resolved_by=None,
        summary="",
        last_update_at=None,
        roles=(("commander", "U0BOB"), ("communications", None), ("scribe", None)),
        followups=(FollowUpState(id=1, text="Alert on 502 rate", owner_id="U0CAROL"),),
        timeline=(
            EntryState(1, "declared", "Declared: Checkout is down", "U0ALICE", T0),
            EntryState(
                2, "message", "LB health checks failing", "U0BOB", T0 + dt.timedelta(minutes=5)
            ),
        ),
        options=OPTIONS,
    )
    return dataclasses.replace(base, **changes)
