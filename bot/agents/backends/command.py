"""The command backend: a local CLI agent (e.g. `codex exec --json`) in a fresh git worktree.

The agent's JSON-lines progress becomes steps; when it exits, its changes are committed on the
attempt's branch, pushed, and a pull request is opened when a GitHub token is configured.
Without a remote or a token the branch and its diff stat are the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import tempfile
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bot.agents import models as m
from bot.agents.backends import egress, github, gitwork, isolation, worktrees
from bot.agents.backends.base import (
    BackendEnv,
    BackendRejected,
    Emit,
    Job,
    Update,
    numstat_numbers,
    outcome_from_diff,
)
from bot.agents.backends.jsonlines import read_line
from bot.agents.backends.presets import PRESETS, PROMPT, Preset, command_line
from bot.agents.settings import AgentBackend, AgentsConfig
from bot.config import reveal
from bot.core.security import redact_secrets

# What an agent gets of the bot's environment: enough to find programs, a home and a locale.
# Anything else (the bot's tokens, its database, cloud credentials) stays out unless a backend
# names it in `pass_env`; the agent reads untrusted text and runs what it decides to.
BASE_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
    "USER",
    "LOGNAME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)
STEP_INTERVAL = 0.25
REPLY_CHARS = 2000
PREVIEW_LINES = 20
PATCH_CHARS = 1_000_000
TRANSCRIPT_CHARS = 200_000
TRANSCRIPT_LINES = 5000


@dataclass(frozen=True)
class Finished:
    """What the agent's run said: its summary, tests and error, and every line it printed."""

    summary: str | None
    tests: str | None
    error: str | None
    transcript: tuple[str, ...]


def create(config: AgentBackend, env: BackendEnv) -> CommandBackend:
    preset = PRESETS[config.preset] if config.preset else None
    if not config.command and preset is None:
        raise ValueError(f"agent backend {config.name!r} (command) needs a command or a preset")
    return CommandBackend(config, env, preset)


class CommandBackend:
    def __init__(self, config: AgentBackend, env: BackendEnv, preset: Preset | None) -> None:
        self.name = config.name
        if config.command:
            self.command = list(config.command)
        else:
            self.command = command_line(preset, config.model) if preset else []
        self.progress = config.progress or (preset.progress if preset else None)
        self.own_env = own_environment(config, preset)
        self.pass_env = tuple(config.pass_env)
        self.scratch = preset.scratch if preset else ()
        self.reach = reach_of(config, env.agents)
        self.agents = env.agents
        tmp = Path(tempfile.gettempdir())
        self.root = Path(env.agents.worktree_root or tmp / "opsbot-trees")
        self.mirrors = Path(env.agents.mirror_root or tmp / "opsbot-mirrors")
        self.auth = gitwork.forge_credentials(reveal(env.agents.github_token))

    async def cancel(self, job: Job) -> None:
        """The runner stops the drive; stopping the drive kills the process."""

    async def drive(self, job: Job, emit: Emit) -> None:
        if job.pending_input is not None:
            raise BackendRejected("this command agent cannot take answers while it runs")
        try:
            # The first call probes bubblewrap (a process): not on the event loop.
            sandbox = await asyncio.to_thread(
                isolation.choose, self.agents.isolation, self.agents.podman_runtime
            )
        except isolation.IsolationUnavailable as error:
            raise BackendRejected(str(error)) from error
        try:
            await asyncio.to_thread(gitwork.own_directory, self.root)
        except gitwork.GitError as error:
            raise BackendRejected(str(error)) from error
        root = self.root / job.repo.replace("/", "__")
        root.mkdir(exist_ok=True)
        await worktrees.sweep(self.root)  # what stopped processes and kept attempts left
        base = job.previous_branch or job.base_branch
        try:
            kept = self.agents.checkouts.get(job.repo)
            checkout = kept or await self._mirror(job.repo)
            tree = await gitwork.add_worktree(
                checkout, root, job.branch, base, self.auth, fetch=bool(kept)
            )
        except gitwork.GitError as error:
            raise BackendRejected(str(error)) from error
        timeout = self.agents.attempt_timeout_minutes * 60 + worktrees.MARGIN_SECONDS
        worktrees.expire_at(tree.path, checkout, time.time() + timeout)
        try:
            await emit(
                Update(
                    state=m.WORKING,
                    step=f"Working in a fresh worktree on `{job.branch}`",
                    backend_task_id=f"command:{job.branch}:{job.drive}",
                    branch=job.branch,
                )
            )
            final = await self._run_agent(job, tree, sandbox, emit)
            if final.error:
                await emit(Update(state=m.FAILED, error=final.error))
                return
            await self._deliver(job, tree, final, emit)
        finally:
            keep = self.agents.worktree_keep_minutes
            await worktrees.ended(tree.path, checkout, keep, self.root)

    async def _mirror(self, repo: str) -> str:
        """The bot's mirror of the forge's copy, for a repository nobody keeps a clone of."""
        url = self.agents.git_url.replace("{repo}", repo)
        return await gitwork.mirror(url, self.mirrors / f"{repo.replace('/', '__')}.git", self.auth)

    def _argv(self, job: Job) -> tuple[list[str], bool]:
        uses_arg = any(PROMPT in part for part in self.command)
        return [part.replace(PROMPT, job.payload) for part in self.command], not uses_arg

    async def _run_agent(
        self, job: Job, tree: gitwork.Worktree, sandbox: isolation.Tool | None, emit: Emit
    ) -> Finished:
        if sandbox is None or not self.reach.proxied:
            return await self._run_in(job, tree, sandbox, None, emit)
        async with egress.serving(self.reach.hosts) as proxy:
            final = await self._run_in(job, tree, sandbox, proxy, emit)
        report = proxy.report()
        if report is None:
            return final
        error = f"{final.error}\n{report}" if final.error else None
        return replace(final, error=error, transcript=(*final.transcript, report))

    async def _run_in(
        self,
        job: Job,
        tree: gitwork.Worktree,
        sandbox: isolation.Tool | None,
        proxy: egress.Egress | None,
        emit: Emit,
    ) -> Finished:
        argv, via_stdin = self._argv(job)
        env = {
            **agent_environment(os.environ, self.own_env, self.pass_env),
            "OPSBOT_INSTRUCTION": job.instruction,
            "OPSBOT_REPO": job.repo,
            "OPSBOT_BRANCH": job.branch,
            "OPSBOT_ATTEMPT": str(job.attempt),
            **(proxy.environment() if proxy else {}),
        }
        if sandbox is None:
            return await self._start(argv, env, tree, job, via_stdin, emit)
        confinement = isolation.Confinement(
            place=isolation.Place(tree.path, tree.git_dir, tree.common_dir),
            network=self.reach.network,
            read_only=tuple(self.agents.read_only_paths),
            limits=isolation.Limits(self.agents.memory_mb, self.agents.cpu_seconds),
            egress=proxy,
        )
        async with isolation.sandboxed(argv, env, sandbox, confinement) as launch:
            return await self._start(launch.argv, launch.env, tree, job, via_stdin, emit)

    async def _start(
        self,
        argv: list[str],
        env: dict[str, str],
        tree: gitwork.Worktree,
        job: Job,
        via_stdin: bool,
        emit: Emit,
    ) -> Finished:
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                cwd=str(tree.path),
                env=env,
                stdin=asyncio.subprocess.PIPE if via_stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
                limit=4 * 1024 * 1024,
            )
        except OSError as error:
            raise BackendRejected(f"could not start `{argv[0]}`: {error}") from error
        try:
            return await self._follow(process, job, via_stdin, emit)
        finally:
            await _stop(process)

    async def _follow(
        self, process: asyncio.subprocess.Process, job: Job, via_stdin: bool, emit: Emit
    ) -> Finished:
        assert process.stdout is not None and process.stderr is not None
        if via_stdin and process.stdin is not None:
            process.stdin.write(job.payload.encode())
            with contextlib.suppress(ConnectionError):
                await process.stdin.drain()
            process.stdin.close()
        stderr: deque[str] = deque(maxlen=20)
        reader = asyncio.create_task(_collect(process.stderr, stderr))
        try:
            return await self._progress(process, reader, stderr, emit)
        finally:
            reader.cancel()

    async def _progress(
        self,
        process: asyncio.subprocess.Process,
        reader: asyncio.Task[None],
        stderr: deque[str],
        emit: Emit,
    ) -> Finished:
        assert process.stdout is not None
        summary = tests = error = step = None
        last_emit = 0.0
        printed: deque[str] = deque(maxlen=TRANSCRIPT_LINES)
        async for raw in process.stdout:
            text = raw.decode(errors="replace")
            printed.append(text.rstrip("\n"))
            line = read_line(text, self.progress)
            if line.delta and line.summary:
                summary = ((summary or "") + line.summary)[-REPLY_CHARS:]
            else:
                summary = line.summary or summary
            tests, error = line.tests or tests, line.error or error
            step = line.step or step
            if step and time.monotonic() - last_emit >= STEP_INTERVAL:
                last_emit = time.monotonic()
                await emit(Update(state=m.WORKING, step=redact_secrets(step)))
                step = None
        if step:  # the latest step is shown, however quickly it followed the one before
            await emit(Update(state=m.WORKING, step=redact_secrets(step)))
        code = await process.wait()
        with contextlib.suppress(TimeoutError):  # the last stderr lines explain a failure
            await asyncio.wait_for(asyncio.shield(reader), 2.0)
        if code != 0 and not error:
            tail = redact_secrets("\n".join(stderr))[-600:] or "no output on stderr"
            error = f"The agent command exited with code {code}: {tail}"
        return Finished(summary, tests, error, tuple(printed))

    async def _deliver(self, job: Job, tree: gitwork.Worktree, final: Finished, emit: Emit) -> None:
        await emit(Update(step="Committing the changes"))
        title = job.instruction.splitlines()[0][:72] or "Changes from the coding agent"
        changed = await gitwork.commit_all(tree, title, leave_out=self.scratch)
        numbers = numstat_numbers(await gitwork.numstat(tree) if changed else "")
        change = redact_secrets(await gitwork.patch(tree))[:PATCH_CHARS] if changed else None
        notes: list[str] = []
        pr_url = None
        if changed and await gitwork.has_remote(tree.checkout):
            await emit(Update(step=f"Pushing `{job.branch}`"))
            try:
                await gitwork.push(tree, self.auth)
                # Of several attempts, people pick which becomes a PR (the comparison's buttons).
                if job.attempts == 1:
                    pr_url = await self._pull_request(job, tree, final, notes)
            except gitwork.GitError as error:
                notes.append(f"The branch was not pushed: {error}")
        summary = "\n".join(filter(None, [final.summary, *notes])) or None
        if not changed:
            summary = "\n".join(filter(None, [summary, "The agent made no changes."]))
        outcome = outcome_from_diff(
            numbers,
            summary=summary,
            branch=job.branch,
            tests=final.tests,
            pr_url=pr_url,
            preview=gitwork.preview(change, PREVIEW_LINES, 2000) if change else None,
            patch=change,
            transcript=redact_secrets("\n".join(final.transcript))[-TRANSCRIPT_CHARS:] or None,
        )
        await emit(Update(state=m.COMPLETED, step="Done", outcome=outcome))

    async def _pull_request(
        self, job: Job, tree: gitwork.Worktree, final: Finished, notes: list[str]
    ) -> str | None:
        token = reveal(self.agents.github_token)
        if not token:
            return None
        api = self.agents.github_api_url
        base = job.base_branch or await github.default_branch(
            token=token, repo=job.repo, api_url=api
        )
        base = base or (await gitwork.git(tree.checkout, "branch", "--show-current")).strip()
        thread = job.thread_url or "https://slack.com"
        body = github.pull_request_body(final.summary, job.requester, thread, job.attempt)
        try:
            return await github.open_pull_request(
                token=token,
                repo=job.repo,
                head=job.branch,
                base=base or "main",
                title=job.instruction.splitlines()[0][:72],
                body=body,
                api_url=api,
                forge=github.forge_host(self.agents.git_url),
            )
        except github.GitHubError as error:
            notes.append(f"No pull request: {error}")
            return None


@dataclass(frozen=True)
class Reach:
    """What an isolated agent of one backend may reach over the network."""

    network: bool
    hosts: tuple[str, ...]
    proxied: bool  # held to `hosts` by the egress proxy

    def describe(self) -> str:
        if not self.network:
            return "no network"
        if self.proxied:
            return f"{', '.join(self.hosts)} only, through opsbot's egress proxy"
        return "the whole network"


def reach_of(config: AgentBackend, agents: AgentsConfig) -> Reach:
    """A preset's agent needs its model API; any other has no network unless its entry names
    hosts or says `network: true`."""
    preset = PRESETS[config.preset] if config.preset else None
    default = preset is not None or config.hosts is not None
    network = config.network if config.network is not None else default
    hosts = tuple(config.hosts) if config.hosts is not None else (preset.hosts if preset else ())
    return Reach(network, hosts, network and bool(hosts) and agents.egress == "proxy")


def own_environment(config: AgentBackend, preset: Preset | None) -> dict[str, str]:
    """What the backend's entry gives its agent: the preset's fixed settings and its key."""
    env = dict(preset.env) if preset else {}
    if preset and preset.model_env and config.model:
        env[preset.model_env] = config.model
    key_env = config.key_env or (preset.key_env if preset else None)
    key = reveal(config.api_key)
    if key and key_env:
        env[key_env] = key
    return env


def agent_environment(
    environ: Mapping[str, str], own: Mapping[str, str], passed: tuple[str, ...] = ()
) -> dict[str, str]:
    """The agent's environment: `BASE_ENV` and the names in `passed` from the bot's, then the
    backend's own settings and key."""
    names = {*BASE_ENV, *passed}
    return {**{name: environ[name] for name in names if name in environ}, **own}


async def _collect(stream: asyncio.StreamReader, into: deque[str]) -> None:
    async for raw in stream:
        into.append(raw.decode(errors="replace").rstrip())


async def _stop(process: asyncio.subprocess.Process) -> None:
    """Stop the agent and anything it started (it runs in its own process group)."""
    if process.returncode is not None:
        return
    for sig, grace in ((signal.SIGTERM, 3.0), (signal.SIGKILL, 3.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            await asyncio.wait_for(process.wait(), grace)
            return
        except TimeoutError:
            continue
