"""What every call to GitHub's REST API carries (the CI and agents features both call it)."""

from __future__ import annotations

# GitHub's REST API version these calls are written against (`X-GitHub-Api-Version`).
GITHUB_API_VERSION = "2022-11-28"


def github_headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": GITHUB_API_VERSION,
        "User-Agent": "opsbot",
    }
