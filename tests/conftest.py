"""Fixtures every suite may use: one moto server for the session.

The server is a real HTTP endpoint (``ThreadedMotoServer`` on 127.0.0.1, a free port), so the
code under test talks to it through botocore exactly as it would talk to AWS.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto.server import ThreadedMotoServer


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
