"""Opening the pull request for a pushed branch, through GitHub's REST API."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from bot.core.forges import github_headers


class GitHubError(Exception):
    pass


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
    draft: bool = True,
    forge: str | None = None,
) -> str:
    """The PR's web address, which must be on the `forge` host; an already open PR for the
    branch is found and reused. A draft by default: an agent's change is for people to review
    before anything else."""
    root = api_url.rstrip("/")
    fields = {"title": title, "head": head, "base": base, "body": body, "draft": draft}
    async with httpx.AsyncClient(timeout=timeout, headers=github_headers(token)) as http:
        try:
            response = await http.post(f"{root}/repos/{repo}/pulls", json=fields)
            if response.status_code == 422 and "already exists" in response.text:
                return on_forge(await _existing(http, root, repo, head), forge)
        except httpx.HTTPError as error:
            raise GitHubError(f"GitHub could not be reached: {error!r}") from error
        if response.status_code != 201:
            raise GitHubError(f"GitHub refused the pull request ({response.status_code})")
        return on_forge(str(response.json()["html_url"]), forge)


def pull_request_body(summary: str | None, requester: str, thread: str, attempt: int) -> str:
    """What the PR says of where it comes from: the agent's summary, who asked, the thread."""
    lines = [summary.strip()] if summary and summary.strip() else []
    lines.append(
        f"Requested in Slack by user `{requester}` ([the thread]({thread})); "
        f"made by a coding agent, attempt {attempt}."
    )
    return "\n\n".join(lines)


def forge_host(git_url: str) -> str | None:
    """The web host of the configured forge (`agents.git_url`'s)."""
    return urlsplit(git_url).hostname


def on_forge(url: str, host: str | None) -> str:
    """`url` when it is a page of the configured forge: a link elsewhere is never shown."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or (host and parts.hostname != host):
        raise GitHubError(f"the forge answered with a link outside {host}")
    return url


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
    async with httpx.AsyncClient(timeout=20.0, headers=github_headers(token)) as http:
        try:
            response = await http.get(f"{api_url.rstrip('/')}/repos/{repo}")
        except httpx.HTTPError:
            return None
    return str(response.json().get("default_branch")) if response.status_code == 200 else None
