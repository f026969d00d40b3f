from tests.flows.conftest import make_services, router, speech  # noqa: F401  (the intake flow's fixtures)
