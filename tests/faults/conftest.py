"""Fault tests reuse the flow tests' fixtures (synthesised speech, the packaged router, services)
and the end-to-end tests' citizen voice."""

from tests.e2e.conftest import voice
from tests.flows.conftest import make_services, router, speech

__all__ = ["make_services", "router", "speech", "voice"]
