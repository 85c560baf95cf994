"""A local stand-in for Slack: Web API server, workspace state and a request driver."""

from .driver import SlackDriver
from .faults import Faults
from .models import RecordedCall
from .ratelimits import RATE_LIMITS, RateLimits, RateRule
from .server import Sandbox, create_app
from .signing import sign, verify
from .state import SandboxState
from .transcript import render_channel, render_workspace

__all__ = [
    "RATE_LIMITS",
    "Faults",
    "RateLimits",
    "RateRule",
    "RecordedCall",
    "Sandbox",
    "SandboxState",
    "SlackDriver",
    "create_app",
    "render_channel",
    "render_workspace",
    "sign",
    "verify",
]
