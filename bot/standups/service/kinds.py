"""Names shared across the standups modules: views, tasks, limits, and the refusal type."""

from __future__ import annotations

PROMPT_VIEW = "standups.prompt"
REMINDER_VIEW = "standups.reminder"
DIGEST_VIEW = "standups.digest"
TASK_FETCH_TZ = "standups.fetch_tz"
TASK_SYNC_GROUP = "standups.sync_group"
TASK_JOIN = "standups.join_channel"
WRITE_ACTION = "standups.write"  # the "Write standup" button, also shown on App Home

DEFAULT_QUESTIONS = (
    "What did you do since last time?",
    "What will you do today?",
    "Anything blocking you?",
)
NO_BLOCKER = {"", "-", "--", "none", "no", "nope", "n/a", "na", "nothing", "no blockers", "nil"}
MAX_QUESTIONS = 8
MAX_QUESTION = 200
MAX_ANSWER = 3000
MAX_NAME = 80
MAX_CUTOFF_MINUTES = 12 * 60


class StandupError(Exception):
    """A refusal the person should read as is (unknown standup, not allowed, name taken)."""
