"""A revision for one feature's tables: `python migrations/new_revision.py ID MESSAGE PREFIX...`.

Upgrades a scratch SQLite database to the current heads, then autogenerates against the models,
keeping only tables whose names start with the given prefixes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from alembic import command

from bot.migrate import alembic_config, upgrade


def main(rev_id: str, message: str, prefixes: list[str]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite+aiosqlite:///{Path(directory) / 'scratch.db'}"
        upgrade(url)
        config = alembic_config(url)
        config.cmd_opts = type("Options", (), {"x": [f"tables={','.join(prefixes)}"]})()
        command.revision(config, message=message, autogenerate=True, rev_id=rev_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
