"""The code red steps that run transactions and call Slack, registered by `handlers`.

`jobs.py` holds the durable tasks (the war-room channel, inviting people into it); `tick.py` the
minute tick that ends loans, sends reminders and reconfirmations, and redraws the header.
"""
