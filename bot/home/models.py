"""Tables of the home feature: one row per person whose App Home the bot keeps up to date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow


class HomeTab(Base):
    """A person whose App Home the bot keeps up to date: when they last opened it, and their
    time zone. Their home itself is a projected view (`bot.home.watches`)."""

    __tablename__ = "home_tabs"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The person's Slack time zone (users.info), for the times their home shows.
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
