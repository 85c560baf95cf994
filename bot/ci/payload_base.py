"""What the provider payload models share: unknown fields ignored, people named alike."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Payload(BaseModel):
    # Providers add fields all the time; we read what we need and ignore the rest.
    model_config = ConfigDict(extra="ignore")


class Person(Payload):
    name: str | None = None
    email: str | None = None
    username: str | None = None
