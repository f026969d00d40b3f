"""The composition roots build their parts from Settings."""

from __future__ import annotations

from foundation.settings import Settings
from hotline.roots import build_agi_server


def test_the_agi_server_serves_at_most_agi_max_calls(settings: Settings) -> None:
    server = build_agi_server(settings.model_copy(update={"agi_port": 0, "agi_max_calls": 3}))
    try:
        assert server.max_calls == 3
    finally:
        server.shutdown()
