"""HTTP API (FastAPI): thin views over the domain services."""
