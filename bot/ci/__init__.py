"""CI breakages: a card per red stretch of a tracked branch, its suspects, its recovery.

What sits here: `models` (tables) and `settings` (the `ci:` section); `service` (the rules: runs
in, breakages opened and closed, routing, queries, suspects, mutes; no Slack, no HTTP); `views`
(breakage cards, thread lines and `/ci` answers as Block Kit); `handlers` (`register`, the `/ci`
command and the `POST /webhooks/...` routes); `workflows` (steps that call GitHub and Slack: the
suspects' lookup, the still-red sweep). The provider modules `github`, `gitlab` and `buildkite`
parse each forge's payloads into the provider-neutral `service.events.RunEvent` (and `github`
asks the compare API for suspects).
"""
