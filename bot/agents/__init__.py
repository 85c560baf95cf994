"""Hand a coding task from a Slack thread to an agent backend and bring back a PR."""
