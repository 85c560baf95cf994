"""The standups steps that run transactions and call Slack, registered by `handlers`.

`jobs.py` holds the durable tasks (time zones and user groups read from Slack, channels joined);
`tick.py` the minute tick that writes the prompts, reminders and cutoffs that have come due.
"""
