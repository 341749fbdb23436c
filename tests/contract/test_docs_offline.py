"""/docs renders with no network but 127.0.0.1: headless Chromium (Debian's
`chromium`, which `make test-contract` installs when missing) loads the page, runs
Swagger UI from the assets the service serves itself, and lists the operations;
every request for any other host goes to a recording proxy that refuses it, and
the test fails on any."""

from __future__ import annotations

import asyncio
import shutil
import tempfile

from tests.contract.conftest import Service

BROWSER_QUIET = [
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-component-extensions-with-background-pages",
    "--disable-client-side-phishing-detection",
    "--disable-domain-reliability",
    "--disable-breakpad",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-field-trial-config",
    "--metrics-recording-only",
    "--password-store=basic",
    "--use-mock-keychain",
    "--disable-features=Translate,MediaRouter,OptimizationHints,"
    "OptimizationGuideModelDownloading,OptimizationHintsFetching,"
    "OptimizationTargetPrediction,AutofillServerCommunication,SignInProfileCreation",
]

OPERATIONS = ["/parts", "/lots/{lot_id}", "/inspections", "/defects/{defect_id}", "/health"]


class RecordingProxy:
    """An HTTP proxy that writes down each request it is asked to forward, and
    forwards none."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.port = 0

    async def start(self) -> asyncio.Server:
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        if line:
            self.requests.append(line.decode(errors="replace").strip())
        writer.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        writer.close()


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "chromium is missing: `make test-contract` installs it (apt-get install chromium)"
    return found


# Chromium's own services, which it calls whatever page it shows (component updates,
# its clock check, sign-in) even with the flags above: requests for these hosts are
# the browser's, never the page's. Any other host fails the test.
BROWSER_OWN = {
    "clients2.google.com",
    "update.googleapis.com",
    "accounts.google.com",
    "optimizationguide-pa.googleapis.com",
}


def host_of(request_line: str) -> str:
    """The host a proxy request line is for (`CONNECT h:443 ...`, `GET http://h/...`)."""
    target = request_line.split(" ")[1]
    return target.split("://", 1)[-1].split("/", 1)[0].rsplit(":", 1)[0]


async def load(url: str, budget_ms: int) -> tuple[str, list[str]]:
    """`url` in headless Chromium: the DOM once its scripts ran, and the requests
    for hosts other than 127.0.0.1 (the browser's own left out)."""
    proxy = RecordingProxy()
    server = await proxy.start()
    profile = tempfile.mkdtemp(prefix="chipq-chromium-")
    try:
        browser = await asyncio.create_subprocess_exec(
            chromium(),
            "--headless",
            "--no-sandbox",  # runs as root here
            "--disable-gpu",
            *BROWSER_QUIET,
            f"--user-data-dir={profile}",
            # Every request for another host goes to the recording proxy; 127.0.0.1
            # is reached directly (Chromium never proxies loopback).
            f"--proxy-server=http://127.0.0.1:{proxy.port}",
            f"--virtual-time-budget={budget_ms}",  # let the page's scripts run
            "--dump-dom",
            url,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(browser.communicate(), timeout=120)
    finally:
        server.close()
        await server.wait_closed()
        shutil.rmtree(profile, ignore_errors=True)
    assert browser.returncode == 0, err.decode(errors="replace")[-3000:]
    outside = [line for line in proxy.requests if host_of(line) not in BROWSER_OWN]
    return out.decode(errors="replace"), outside


async def test_the_proxy_sees_a_page_that_loads_from_a_cdn() -> None:
    """The control: a page with a CDN script is caught, so an empty list means
    something."""
    page = 'data:text/html,<script src="https://cdn.jsdelivr.net/npm/x/x.js"></script>'
    _, outside = await load(page, 3000)
    assert [host_of(line) for line in outside] == ["cdn.jsdelivr.net"], outside


async def test_docs_render_offline_and_list_the_operations(service: Service) -> None:
    dom, outside = await load(f"{service.url}/docs", 15000)
    assert "swagger-ui" in dom
    # Swagger UI drew each operation (its path in an opblock), so the page really ran.
    missing = [path for path in OPERATIONS if f'data-path="{path}"' not in dom]
    assert not missing, f"not rendered: {missing}\n{dom[:3000]}"
    assert outside == [], f"requests left 127.0.0.1: {outside}"
