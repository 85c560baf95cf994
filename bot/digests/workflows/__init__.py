"""Steps of the digests feature that run transactions and call Slack.

`runner` (the durable steps of a digest run: the sweep, the snapshot, the weekly chart) and
`commands` (carrying out `/ops digest` and `/ops activity`).
"""
