"""`make serve`'s server (chip_quality_dev.serve) in a process of its own: it serves,
finishes a request in flight when stopped by SIGTERM, and exits 0."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_sigterm_stops_the_service_cleanly_after_its_requests(db_url: str) -> None:
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": db_url, "FAB_SERVICE_TOKENS": "t=tester@fab1"}
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chip_quality_dev.serve", "--port", str(port),
        cwd=ROOT, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            started = time.monotonic()
            while True:
                try:
                    if (await client.get("/health")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert time.monotonic() - started < 30, "the service did not start"
                await asyncio.sleep(0.1)
            in_flight = asyncio.create_task(
                client.get("/parts", headers={"Authorization": "Bearer t"})
            )
            await asyncio.sleep(0.05)
            server.send_signal(signal.SIGTERM)
            assert (await in_flight).status_code == 200
        code = await asyncio.wait_for(server.wait(), timeout=30)
    finally:
        if server.returncode is None:
            server.kill()
            await server.wait()
    output = (await server.stdout.read()).decode() if server.stdout else ""
    assert code == 0, output
