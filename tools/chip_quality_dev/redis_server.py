"""A redis-server of the tests' own, on a port of its own (the machine's usual one on
6379 is left alone), for the Redis backend of the result cache (tests/runtime/
test_cache_redis.py). redis-server is the Debian package, installed with apt-get when
missing (as root on Debian), as `make cluster` installs PgBouncer.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class RedisServerError(RuntimeError):
    """redis-server could not be found, installed or started; the message says why."""


def find_redis_server(install: bool = True) -> Path:
    """The redis-server binary; as root on Debian, installed from the Debian package
    when missing (its own system service kept from starting)."""
    found = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin")
    if found:
        return Path(found)
    debian = Path("/etc/debian_version").exists() and shutil.which("apt-get") is not None
    if not (install and debian and os.geteuid() == 0):
        raise RedisServerError(
            "redis-server is not installed: install the Debian package `redis-server` "
            "(apt-get install redis-server) or put a redis-server binary on PATH"
        )
    policy = Path("/usr/sbin/policy-rc.d")
    ours = not policy.exists()
    if ours:  # invoke-rc.d asks this script before starting a service; 101: not allowed
        policy.write_text("#!/bin/sh\n# chip-quality-db: no service starts now\nexit 101\n")
        policy.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    apt = ["apt-get", "-o", "DPkg::Lock::Timeout=300", "-q"]
    try:
        done = subprocess.run(
            [*apt, "install", "-y", "redis-server"], capture_output=True, text=True, env=env
        )
        if done.returncode != 0:  # package lists missing or stale on a fresh machine
            subprocess.run([*apt, "update"], capture_output=True, text=True, env=env)
            done = subprocess.run(
                [*apt, "install", "-y", "redis-server"], capture_output=True, text=True, env=env
            )
        if done.returncode != 0:
            raise RedisServerError(f"apt-get install -y redis-server failed: {done.stderr!r}")
    finally:
        if ours:
            policy.unlink()
    found = shutil.which("redis-server", path="/usr/bin")
    if not found:
        raise RedisServerError("apt-get installed redis-server, but no binary was found")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A redis-server on a free port of 127.0.0.1, nothing saved to disk, stopped after;
    yields its URL."""
    binary = find_redis_server()
    port = _free_port()
    process = subprocess.Popen(
        [
            str(binary),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
            "--maxmemory",
            "64mb",
            "--maxmemory-policy",
            "allkeys-lru",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RedisServerError(f"redis-server did not start on port {port}") from None
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
