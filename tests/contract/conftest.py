"""The contract tier (`make test-contract`): the example service running as it does
under `make serve` (uvicorn, a real socket on 127.0.0.1), on a database of its own
per module, called by tools that know nothing but its OpenAPI document."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "contract-token"
PERSON = "contract@fab1"


@dataclass(frozen=True)
class Service:
    url: str
    token: str
    log: Path  # the server's output: uvicorn's access log among it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
async def service(shared_db_url: str) -> AsyncIterator[Service]:
    """`python -m chip_quality_dev.serve` (what `make serve` runs) on a free port."""
    port = free_port()
    environment = {
        **os.environ,
        "DATABASE_URL": shared_db_url,
        "FAB_SERVICE_TOKENS": f"{TOKEN}={PERSON}",
    }
    log = (ROOT / ".localdb").joinpath(f"contract-serve-{port}.log")
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as output:
        server = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chip_quality_dev.serve", "--port", str(port),
            cwd=ROOT, env=environment, stdout=output, stderr=output,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            started = time.monotonic()
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert server.returncode is None, log.read_text()
                assert time.monotonic() - started < 60, "the service did not start"
                await asyncio.sleep(0.1)
        yield Service(url, TOKEN, log)
    finally:
        if server.returncode is None:
            server.terminate()
            await asyncio.wait_for(server.wait(), timeout=30)
        text = log.read_text(errors="replace")
        log.unlink(missing_ok=True)
        # A traceback in the server's log is a bug even when every response looked fine.
        assert "Traceback" not in text, text[-5000:]
