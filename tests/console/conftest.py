"""The flow fixtures (real synthesised speech, scripted recognition double, real router) for overflow tests."""

from tests.flows.conftest import make_services, router, speech  # noqa: F401
