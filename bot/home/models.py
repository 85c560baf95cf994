"""Tables of the home feature: one row per person whose App Home the bot keeps up to date."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.core.db import Base, UTCDateTime, utcnow


class HomeTab(Base):
    """Like a projector row, for views.publish: the wanted version and the published one.

    `version` goes up whenever the home may have changed; a publish task renders the latest
    state and records the version it saw, so many changes become one views.publish.
    """

    __tablename__ = "home_tabs"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    # Hash of the view last published: an unchanged home is not published again.
    content_hash: Mapped[str | None] = mapped_column(String(64))
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The person's Slack time zone (users.info), for the times their home shows.
    timezone: Mapped[str | None] = mapped_column(String(64))
    timezone_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
