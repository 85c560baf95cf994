"""Opening the pull request for a pushed branch, through GitHub's REST API."""

from __future__ import annotations

import httpx

API_VERSION = "2022-11-28"


class GitHubError(Exception):
    pass


def _headers(token: str) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {token}",
        "Accept": "application/vnd.github+json",
        "X-GitHub-Api-Version": API_VERSION,
        "User-Agent": "opsbot",
    }


async def open_pull_request(
    *,
    token: str,
    repo: str,
    head: str,
    base: str,
    title: str,
    body: str,
    api_url: str = "https://api.github.com",
    timeout: float = 20.0,
) -> str:
    """The PR's web address; an already open PR for the branch is found and reused."""
    root = api_url.rstrip("/")
    async with httpx.AsyncClient(timeout=timeout, headers=_headers(token)) as http:
        try:
            response = await http.post(
                f"{root}/repos/{repo}/pulls",
                json={"title": title, "head": head, "base": base, "body": body},
            )
            if response.status_code == 422 and "already exists" in response.text:
                return await _existing(http, root, repo, head)
        except httpx.HTTPError as error:
            raise GitHubError(f"GitHub could not be reached: {error!r}") from error
        if response.status_code != 201:
            raise GitHubError(f"GitHub refused the pull request ({response.status_code})")
        return str(response.json()["html_url"])


async def _existing(http: httpx.AsyncClient, root: str, repo: str, head: str) -> str:
    owner = repo.split("/", 1)[0]
    response = await http.get(
        f"{root}/repos/{repo}/pulls", params={"head": f"{owner}:{head}", "state": "open"}
    )
    pulls = response.json() if response.status_code == 200 else []
    if not pulls:
        raise GitHubError("GitHub says a pull request exists but it could not be found")
    return str(pulls[0]["html_url"])


async def default_branch(
    *, token: str, repo: str, api_url: str = "https://api.github.com"
) -> str | None:
    async with httpx.AsyncClient(timeout=20.0, headers=_headers(token)) as http:
        try:
            response = await http.get(f"{api_url.rstrip('/')}/repos/{repo}")
        except httpx.HTTPError:
            return None
    return str(response.json().get("default_branch")) if response.status_code == 200 else None
