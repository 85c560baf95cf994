"""Which repo/branch goes to which channel: the first `ci.routes` entry that matches wins."""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatchcase

from bot.ci.settings import CiRoute

# When neither the route nor the payload names a default branch.
FALLBACK_DEFAULT_BRANCHES = ("main", "master")


def _repo_matches(pattern: str, repo: str) -> bool:
    return fnmatchcase(repo.lower(), pattern.lower())


def _branch_matches(route: CiRoute, branch: str, default_branch: str | None) -> bool:
    if route.branches:
        return any(fnmatchcase(branch, pattern) for pattern in route.branches)
    if default_branch:
        return branch == default_branch
    return branch in FALLBACK_DEFAULT_BRANCHES


def route_for(
    routes: Sequence[CiRoute], repo: str, branch: str, default_branch: str | None = None
) -> CiRoute | None:
    """The route tracking this branch, or None (then the run is not tracked at all)."""
    for route in routes:
        if _repo_matches(route.repo, repo) and _branch_matches(route, branch, default_branch):
            return route
    return None


def routes_for(
    routes: Sequence[CiRoute], repo: str, branch: str, default_branch: str | None = None
) -> list[CiRoute]:
    """Every workspace's route tracking this branch: the first that matches in each, in
    order (the first of all is `route_for`'s)."""
    chosen: dict[str | None, CiRoute] = {}
    for route in routes:
        tracks = _repo_matches(route.repo, repo) and _branch_matches(route, branch, default_branch)
        if tracks and route.team not in chosen:
            chosen[route.team] = route
    return list(chosen.values())


def is_tracked_repo(routes: Sequence[CiRoute], repo: str) -> bool:
    return any(_repo_matches(route.repo, repo) for route in routes)
