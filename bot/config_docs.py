"""docs/configuration.md, generated from the settings models so it cannot drift from them.

`python -m bot.config_docs > docs/configuration.md` (also `opsbot config-docs`, `make docs`);
a test fails when the checked-in file differs from what this prints.
"""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import AfterValidator, BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import Settings
from bot.config_sources import is_secret
from bot.core.settings import _http_url

COMMAND = "opsbot config-docs > docs/configuration.md"

HEADER = f"""# Configuration reference

<!-- Generated from bot/config.py by `{COMMAND}` (or `make docs`). Do not edit:
     a test fails when this file is not what the command prints. -->

opsbot reads its settings from these places, the first that holds a setting winning:

1. **Environment variables**, named after the setting: `SLACK_BOT_TOKEN`; a key inside a
   section joins the names with `__`: `CI__STILL_RED_HOURS=2`. A whole section or list can be
   given as JSON: `DIGESTS='[{{"channel": "C0ENG", "cron": "0 9 * * 1"}}]'`.
2. **`<NAME>_FILE`** for every secret (marked *secret* below): the path of a file holding it,
   such as a Docker or Kubernetes secret, e.g. `SLACK_BOT_TOKEN_FILE=/run/secrets/slack-bot`.
   Surrounding whitespace (the trailing newline) is dropped. Setting both `NAME` and
   `NAME_FILE` is an error.
3. **`OPSBOT_SECRETS_DIR`**: a directory with one file per setting, named like its
   variable in any case (`slack_bot_token`, `CI__GITHUB_TOKEN`), e.g. a Kubernetes Secret
   mounted as a volume (pydantic-settings' `secrets_dir`). Other files there are ignored.
4. **The YAML file** named by `OPSBOT_CONFIG`, with the keys of the *YAML key* column.

Secrets are held as `SecretStr`: they print as `**********` in logs, reprs and errors.

`opsbot check` validates all of it and reports **every** problem in one run, one line each,
and exits 2. Each line names where the bad value came from:

```text
opsbot: setting SLACK_BOT_TOKEN: must be a bot token starting with xoxb-
opsbot: setting CI__STILL_RED_HOURS (ci.still_red_hours): must be greater than 0
opsbot: setting SLACK_SIGNING_SECRET_FILE: cannot read /run/slack (No such file or directory)
opsbot: /etc/opsbot.yml:7: setting ci.routes[0].channel: must match ^[CGD][A-Z0-9]{{2,}}$ (got 'x')
opsbot: /etc/opsbot.yml:12: not valid YAML: could not find expected ':'
```

With valid settings it checks what serving needs (a bot token; a signing secret, or an app
token for Socket Mode; a database that answers) and exits 1 if anything is missing.
"""


def _base(annotation: Any) -> tuple[Any, list[Any]]:
    """The type without `None` and `Annotated`, and the Annotated metadata met on the way."""
    metadata: list[Any] = []
    while True:
        if get_origin(annotation) is Annotated:
            annotation, *extra = get_args(annotation)
            metadata.extend(extra)
        elif get_origin(annotation) in (Union, types.UnionType):
            kept = [a for a in get_args(annotation) if a is not type(None)]
            if len(kept) != 1:
                return annotation, metadata
            annotation = kept[0]
        else:
            return annotation, metadata


def type_name(annotation: Any, metadata: list[Any] | None = None) -> str:
    annotation, found = _base(annotation)
    metadata = [*(metadata or []), *found]
    if any(isinstance(m, AfterValidator) and m.func is _http_url for m in metadata):
        return "http(s) URL"
    if annotation is SecretStr:
        return "string, *secret*"
    origin = get_origin(annotation)
    if origin is Literal:
        return " | ".join(f"`{value}`" for value in get_args(annotation))
    if origin is list:
        item = get_args(annotation)[0]
        if isinstance(item, type) and issubclass(item, BaseModel):
            return "list of items (see below)"
        return f"list of {type_name(item)}"
    if origin is dict:
        key, value = get_args(annotation)
        return f"map of {type_name(key)} to {type_name(value)}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "section (see below)"
    names = {str: "string", int: "integer", float: "number", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _bounds(field: FieldInfo) -> str:
    parts = []
    for item in field.metadata:
        if isinstance(item, annotated_types.Gt):
            parts.append(f"> {item.gt}")
        elif isinstance(item, annotated_types.Ge):
            parts.append(f"≥ {item.ge}")
        elif isinstance(item, annotated_types.Le):
            parts.append(f"≤ {item.le}")
        elif isinstance(item, annotated_types.MinLen):
            parts.append(f"at least {item.min_length} item(s)")
        elif isinstance(getattr(item, "pattern", None), str):
            parts.append(f"matching `{item.pattern}`")
    return ", ".join(parts)


def default_text(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()  # type: ignore[call-arg]
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if value is None:
        return "unset"
    if isinstance(value, BaseModel):
        return ""
    return f"`{json.dumps(value, ensure_ascii=False)}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


Row = tuple[str, str, str, str, str]


def rows(model: type[BaseModel], path: tuple[str, ...], env: bool) -> Iterator[Row]:
    """One row per setting: environment variable, YAML key, type, default, description."""
    for name, field in model.model_fields.items():
        if field.description is None:
            where = ".".join((*path, name))
            raise ValueError(f"setting {where} has no description: add Field(description=...)")
        key = ".".join((*path, name))
        secret = is_secret(field)
        variable = ""
        if env:
            variable = "`" + "__".join((*path, name)).upper() + "`"
            variable += f"<br>{variable[:-1]}_FILE`" if secret else ""
        kind = type_name(field.annotation, field.metadata)
        if secret and "secret" not in kind:
            kind += ", *secret*"
        bounds = _bounds(field)
        kind += f" ({bounds})" if bounds else ""
        yield (
            variable,
            f"`{key}`",
            _cell(kind),
            _cell(default_text(field)),
            _cell(field.description),
        )


def _sections(model: type[BaseModel], path: tuple[str, ...], env: bool) -> Iterator[str]:
    """A table per section, then one per list of items inside it, depth first."""
    table = list(rows(model, path, env))
    yield "| Environment variable | YAML key | Type | Default | Description |"
    yield "|---|---|---|---|---|"
    yield from ("| " + " | ".join(row) + " |" for row in table)
    for name, field in model.model_fields.items():
        annotation, _ = _base(field.annotation)
        item = get_args(annotation)[0] if get_origin(annotation) is list else annotation
        if not (isinstance(item, type) and issubclass(item, BaseModel)):
            continue
        listed = item is not annotation
        key = ".".join((*path, name))
        yield ""
        if listed:
            yield f"### `{key}[]`: {field.description}"
            yield ""
            yield (
                f"A list; each item has these keys. From the environment, only as a whole: "
                f"`{key.replace('.', '__').upper()}` holding a JSON list."
            )
        else:
            yield f"### `{key}`: {field.description}"
            if item.__doc__ and item.__doc__ is not BaseModel.__doc__:
                yield ""
                yield " ".join(item.__doc__.split())
        yield ""
        yield from _sections(item, (*path, f"{name}[]" if listed else name), env and not listed)


def render() -> str:
    lines = [HEADER, "## Settings", ""]
    lines.extend(_sections(Settings, (), env=True))
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    sys.stdout.write(render())
    return 0


if __name__ == "__main__":
    sys.exit(main())
