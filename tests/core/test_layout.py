"""Every feature folder speaks the same file vocabulary (docs/architecture: models, settings,
service, views, handlers, workflows), so a reader knows what a file holds from its name.

A feature that grows splits one of those roles into a package by sub-domain
(`service/timeline.py`), never invents a new role beside them. Provider modules, which speak one
outside system's API, are the only other names, and are listed here by feature.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from bot.config import Settings
from bot.features import FEATURES
from bot.models import metadata

ROLES = {"models", "settings", "service", "views", "handlers", "workflows"}
PROVIDERS: dict[str, set[str]] = {
    "bot.ci": {"github", "gitlab", "buildkite"},
    "bot.agents": {"backends"},
}
ROOT = Path(__file__).resolve().parents[2]


def names_in(package: str) -> set[str]:
    folder = ROOT / package.replace(".", "/")
    names = set()
    for entry in folder.iterdir():
        if entry.name in {"__init__.py", "__pycache__"}:
            continue
        if entry.is_dir() and (entry / "__init__.py").exists():
            names.add(entry.name)
        elif entry.suffix == ".py":
            names.add(entry.stem)
        else:
            names.add(entry.name)  # data beside the code is a role of its own: not allowed
    return names


@pytest.mark.parametrize("package", FEATURES)
def test_a_feature_folder_holds_only_the_shared_roles(package: str) -> None:
    unknown = names_in(package) - ROLES - PROVIDERS.get(package, set())
    assert not unknown, f"{package}: {sorted(unknown)} are not roles; move them under a role"


@pytest.mark.parametrize("package", FEATURES)
def test_every_feature_has_handlers_that_register_it(package: str) -> None:
    assert "handlers" in names_in(package)


def test_every_feature_folder_is_served() -> None:
    # A folder beside core with listeners but missing from FEATURES would never be registered.
    folders = {
        f"bot.{entry.name}"
        for entry in (ROOT / "bot").iterdir()
        if (entry / "handlers.py").exists() or (entry / "handlers" / "__init__.py").exists()
    }
    assert folders == set(FEATURES)


def test_a_features_settings_and_tables_are_found_from_its_line() -> None:
    for package in FEATURES:
        if "settings" in names_in(package):
            key = importlib.import_module(f"{package}.settings").SECTION
            assert key.name in Settings.model_fields
            assert Settings().section(key) == Settings.model_fields[key.name].get_default(
                call_default_factory=True
            )
        if "models" in names_in(package):
            module = importlib.import_module(f"{package}.models")
            tables = {
                value.__table__.name
                for value in vars(module).values()
                if isinstance(value, type)
                and value.__module__ == module.__name__
                and hasattr(value, "__table__")
            }
            assert tables and tables <= set(metadata.tables), package
