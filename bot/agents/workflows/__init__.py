"""Steps of the agents feature that run transactions and call Slack or an agent backend.

`intake` (hand-offs from threads), `prepare` (read the thread, build what is sent), `runner`
(drive each task on its backend) and `slack_reads` (the thread, names, who may instruct).
"""
