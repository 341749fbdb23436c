"""`make serve`: the example service under uvicorn, stopped cleanly by SIGTERM.

uvicorn finishes the requests in flight on SIGTERM or Ctrl-C, then raises the
signal again so that its parent sees it: the process dies of the signal and
`make serve` reports a failure (exit 2) for what is the normal way to stop a
service. Here the server keeps uvicorn's graceful shutdown and exits 0 after it.

    python -m chip_quality_dev.serve [--host 127.0.0.1] [--port 8000]
"""

from __future__ import annotations

import argparse
import contextlib
import signal
from collections.abc import Iterator

import uvicorn

APP = "examples.fab_service.app:create_app"


class _StoppedBySignal(uvicorn.Server):
    """uvicorn's server, whose stop signals end it without being raised again."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        stops = (signal.SIGINT, signal.SIGTERM)
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in stops}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chip_quality_dev.serve", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    config = uvicorn.Config(APP, factory=True, host=args.host, port=args.port)
    _StoppedBySignal(config).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
