"""Names of the incident views (projector kinds) and durable tasks."""

CARD = "incidents.card"
ANNOUNCEMENT = "incidents.announcement"
UPDATE_POST = "incidents.update"
UPDATE_THREAD = "incidents.update_thread"
ROLE_DM = "incidents.role_dm"
REMINDER = "incidents.reminder"
# Pull requests of follow-ups opened after the postmortem draft was written, in its channel.
LATE_PRS = "incidents.late_prs"
TASK_OPEN_CHANNEL = "incidents.open_channel"
TASK_INVITE = "incidents.invite"
TASK_TOPIC = "incidents.topic"
TASK_POSTMORTEM = "incidents.postmortem"
SNOOZE_MINUTES = 30
