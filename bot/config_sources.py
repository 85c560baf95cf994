"""Where settings come from, and which of those places a bad setting came from.

Each source remembers what it read, so an error from validation can name the environment
variable, the secret file or the YAML file and line that held the bad value. A source that
cannot read its input (broken YAML, unreadable `*_FILE`) records a problem instead of raising,
so one run reports every problem; `strict=True` (a bare `Settings()`) raises at the first.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    NestedSecretsSettingsSource,
    PydanticBaseSettingsSource,
    SettingsError,
    YamlConfigSettingsSource,
)

Loc = tuple[str | int, ...]


def dotted(loc: Loc) -> str:
    """`ci.routes[0].channel`: the key path as the YAML file spells it."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".")


def env_name(loc: Loc) -> str:
    return "__".join(str(part) for part in loc).upper()


def is_secret(field: FieldInfo) -> bool:
    """SecretStr fields, and plain ones marked secret (the database URL, which SQLAlchemy and
    Alembic need as text)."""
    extra = field.json_schema_extra
    return "SecretStr" in repr(field.annotation) or (isinstance(extra, dict) and "secret" in extra)


def secret_paths(model: type[BaseModel], prefix: Loc = ()) -> Iterator[Loc]:
    """Every secret reachable through sections (not lists): each gets a `<NAME>_FILE`."""
    for name, field in model.model_fields.items():
        if is_secret(field):
            yield (*prefix, name)
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            yield from secret_paths(field.annotation, (*prefix, name))


def holds(data: Any, loc: Loc) -> bool:
    for part in loc:
        keyed = isinstance(data, dict) and part in data
        if keyed or (isinstance(data, list) and isinstance(part, int) and part < len(data)):
            data = data[part]
        else:
            return False
    return True


class Recording:
    """What a source read (for attribution) and the problems it met (for the report)."""

    data: dict[str, Any]
    problems: list[str]
    strict: bool

    def _problem(self, line: str) -> None:
        if self.strict:
            raise SettingsError(line)
        self.problems.append(line)

    def subject(self, loc: Loc) -> str:
        """How an error line names the setting at `loc` from this source."""
        return f"setting {dotted(loc)}"


class InitSource(InitSettingsSource, Recording):
    """Values given in code (tests, the demo)."""

    def __init__(self, settings_cls: type[BaseSettings], init_kwargs: dict[str, Any]) -> None:
        super().__init__(settings_cls, init_kwargs)
        self.data, self.problems, self.strict = dict(init_kwargs), [], False


class EnvironmentSource(EnvSettingsSource, Recording):
    """Environment variables, except that a bare variable only fills a section when it holds a
    JSON object: `CI=true`, which every CI system sets, is not the `ci` section. Nested
    variables (`CI__STILL_RED_HOURS=2`) work as usual."""

    def __init__(self, settings_cls: type[BaseSettings], strict: bool) -> None:
        super().__init__(settings_cls)
        self.data, self.problems, self.strict = {}, [], strict
        # `CI__GITHUB_TOKEN_FILE` names a file for SecretFileSource, not a key of `ci`.
        files = {env_name(loc).lower() + "_file" for loc in secret_paths(settings_cls)}
        self.env_vars = {k: v for k, v in self.env_vars.items() if k.lower() not in files}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        value, key, is_complex = super().get_field_value(field, field_name)
        section = isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel)
        if section and isinstance(value, str) and not value.lstrip().startswith("{"):
            return None, key, is_complex
        return value, key, is_complex

    def prepare_field_value(
        self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool
    ) -> Any:
        try:
            return super().prepare_field_value(field_name, field, value, value_is_complex)
        except ValueError:  # malformed JSON for a section or list: report it, read the rest
            self._problem(f"setting {field_name.upper()}: must be JSON (an object or a list)")
            return None

    def __call__(self) -> dict[str, Any]:
        self.data = super().__call__()
        return self.data

    def subject(self, loc: Loc) -> str:
        environ = {name.upper() for name in os.environ}
        for length in range(len(loc), 0, -1):
            name = env_name(loc[:length])
            if name in environ:
                return f"setting {name}" if len(loc) == 1 else f"setting {name} ({dotted(loc)})"
        return f"setting {env_name(loc)}"


class SecretFileSource(PydanticBaseSettingsSource, Recording):
    """`<NAME>_FILE=/path`: the secret NAME read from a file (a Docker or Kubernetes secret),
    surrounding whitespace dropped as pydantic-settings does for its secrets directory."""

    def __init__(self, settings_cls: type[BaseSettings], strict: bool) -> None:
        super().__init__(settings_cls)
        self.data, self.problems, self.strict = {}, [], strict
        self.files: dict[Loc, tuple[str, str]] = {}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # __call__ reads every secret at once

    def __call__(self) -> dict[str, Any]:
        environ = {name.upper(): value for name, value in os.environ.items()}
        for loc in secret_paths(self.settings_cls):
            variable = env_name(loc) + "_FILE"
            path = environ.get(variable)
            if not path:
                continue
            if environ.get(env_name(loc)):
                self._problem(f"setting {variable}: set {env_name(loc)} or {variable}, not both")
                continue
            try:
                value = Path(path).read_text(encoding="utf-8").strip()
            except (OSError, UnicodeDecodeError) as error:
                reason = getattr(error, "strerror", None) or type(error).__name__
                self._problem(f"setting {variable}: cannot read {path} ({reason})")
                continue
            self.files[loc] = (variable, path)
            section = self.data
            for part in loc[:-1]:
                section = section.setdefault(str(part), {})
            section[str(loc[-1])] = value
        return self.data

    def subject(self, loc: Loc) -> str:
        for known, (variable, path) in self.files.items():
            if loc[: len(known)] == known:
                return f"setting {variable} ({path})"
        return super().subject(loc)


class SecretsDirSource(NestedSecretsSettingsSource, Recording):
    """pydantic-settings' secrets directory (OPSBOT_SECRETS_DIR, e.g. a mounted Kubernetes
    Secret): a file per setting, named like its variable (`slack_bot_token`, `CI__GITHUB_TOKEN`)."""

    def __init__(self, file_secrets: PydanticBaseSettingsSource, strict: bool) -> None:
        self.data, self.problems, self.strict = {}, [], strict
        self.directory = os.environ.get("OPSBOT_SECRETS_DIR") or None
        if self.directory and not Path(self.directory).is_dir():
            self._problem(f"setting OPSBOT_SECRETS_DIR: must name a directory ({self.directory})")
            self.directory = None
        super().__init__(
            file_secrets,
            secrets_dir=self.directory,
            secrets_dir_missing="ok",
            secrets_nested_delimiter="__",
        )

    def __call__(self) -> dict[str, Any]:
        try:
            self.data = super().__call__()
        except SettingsError as error:
            self._problem(f"setting OPSBOT_SECRETS_DIR: {error}")
        return self.data

    def subject(self, loc: Loc) -> str:
        directory = Path(self.directory or ".")
        files = {p.name.lower(): p.name for p in directory.iterdir()}
        for length in range(len(loc), 0, -1):
            name = files.get(env_name(loc[:length]).lower())
            if name:
                return f"{directory / name}: setting {dotted(loc)}"
        return f"{directory}: setting {dotted(loc)}"


class YamlFileSource(YamlConfigSettingsSource, Recording):
    """The YAML file named by OPSBOT_CONFIG. Reads it as a stream, so parse errors carry the
    file's name, and keeps its node tree to say on which line a bad key sits."""

    def __init__(self, settings_cls: type[BaseSettings], path: str, strict: bool) -> None:
        self.path, self.problems, self.strict = path, [], strict
        self.tree: yaml.Node | None = None
        if not Path(path).is_file():  # pydantic-settings skips a missing file silently
            self._problem(f"setting OPSBOT_CONFIG: must name a readable YAML file ({path})")
        super().__init__(settings_cls, yaml_file=path)
        self.data = self.yaml_data

    def _read_file(self, file_path: Any) -> dict[str, Any]:
        try:
            loader = yaml.SafeLoader(Path(file_path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as error:
            self._problem(f"setting OPSBOT_CONFIG: cannot read {self.path} ({error})")
            return {}
        try:
            self.tree = loader.get_single_node()
            data = loader.construct_document(self.tree) if self.tree is not None else None
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"{self.path}:{mark.line + 1}" if mark else self.path
            self._problem(f"{where}: not valid YAML: {error.problem or error.context}")
            return {}
        except yaml.YAMLError as error:
            self._problem(f"{self.path}: not valid YAML: {error}")
            return {}
        finally:
            loader.dispose()
        if data is not None and not isinstance(data, dict):
            self._problem(f"{self.path}: must hold a mapping of settings")
            return {}
        return data or {}

    def subject(self, loc: Loc) -> str:
        return f"{self.path}:{self.line(loc)}: setting {dotted(loc)}"

    def line(self, loc: Loc) -> int:
        """The line of the deepest key or item of `loc` the file holds."""
        node, line = self.tree, 1
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                found = [(k, v) for k, v in node.value if k.value == str(part)]
                if not found:
                    break
                line, node = found[0][0].start_mark.line + 1, found[0][1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if part >= len(node.value):
                    break
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line


def build_sources(
    settings_cls: type[BaseSettings],
    init: PydanticBaseSettingsSource,
    file_secrets: PydanticBaseSettingsSource,
    strict: bool,
) -> tuple[PydanticBaseSettingsSource, ...]:
    """Highest priority first: code, environment, `*_FILE`, secrets directory, YAML file."""
    sources: list[PydanticBaseSettingsSource] = [
        init,
        EnvironmentSource(settings_cls, strict),
        SecretFileSource(settings_cls, strict),
        SecretsDirSource(file_secrets, strict),
    ]
    path = os.environ.get("OPSBOT_CONFIG")
    if path:
        sources.append(YamlFileSource(settings_cls, path, strict))
    return tuple(sources)


def origin(sources: tuple[PydanticBaseSettingsSource, ...], loc: Loc) -> Recording | None:
    """The source whose value won at `loc`, else the one holding the longest part of it (a
    required key missing from a section names the section's source)."""
    recording = [source for source in sources if isinstance(source, Recording)]
    for length in range(len(loc), 0, -1):
        for source in recording:
            if holds(source.data, loc[:length]):
                return source
    return None


def reveal(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret is not None else None
