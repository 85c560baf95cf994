"""Hypothesis examples drawn up front, for tests that replay them against the async app."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st


def examples(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """Draw `count` examples up front (reproducibly), to replay them against the async app."""
    drawn: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(value: Any) -> None:
        drawn.append(value)

    collect()
    return drawn
