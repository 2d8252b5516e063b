"""Command line: serve the simulator, or tick / list companies of a running one."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from simulator.config import Faults, SimulatorConfig


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text}")
    return value


def _share(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1: {text}")
    return value


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text}")
    return value


def _port(text: str) -> int:
    value = int(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"not a port: {text}")
    return value


def _companies(text: str) -> int:
    value = int(text)
    if not 1 <= value <= 20:
        raise argparse.ArgumentTypeError("must be between 1 and 20")
    return value


def _start(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("needs an offset, e.g. 2026-03-01T00:00:00+00:00")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="generate data and serve the API until killed")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8765, help="0 picks a free port")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--scale", type=_positive, default=0.01)
    serve.add_argument("--companies", type=_companies, default=2)
    serve.add_argument("--start", type=_start, default=None, help="simulated start (ISO, aware)")
    serve.add_argument("--change-rate", type=_share, default=0.02)
    serve.add_argument("--latency-ms", type=_non_negative, default=0.0)
    serve.add_argument("--error-rate", type=_share, default=0.0)
    serve.add_argument("--auth-min-interval", type=_non_negative, default=60.0)
    serve.add_argument("--token-ttl", type=_positive, default=86400.0)

    for name, text in (("tick", "advance a running simulator"), ("companies", "list credentials")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--url", default="http://127.0.0.1:8765")
        if name == "tick":
            command.add_argument("--hours", type=int, default=1)
    return parser


def serve(args: argparse.Namespace) -> int:
    from simulator.core import Simulator

    config = SimulatorConfig(
        seed=args.seed,
        scale=args.scale,
        companies=args.companies,
        start=args.start,
        change_rate=args.change_rate,
        faults=Faults(
            latency=args.latency_ms / 1000,
            error_rate=args.error_rate,
            auth_min_interval=args.auth_min_interval,
            token_ttl=args.token_ttl,
        ),
    )
    sim = Simulator(config)
    handle = sim.serve(port=args.port, host=args.host)
    print(f"Breezeway simulator listening on {handle.url}")
    print(f"  BREEZEWAY_AUTH_URL={handle.url}/public/auth/v1")
    print(f"  BREEZEWAY_API_URL={handle.url}/public/inventory/v1")
    print(f"  simulated now: {sim.now.isoformat()}")
    for company in sim.companies:
        print(
            f"  company {company.code}: company_id={company.company_id} "
            f"client_id={company.client_id} client_secret={company.client_secret}"
        )
    sys.stdout.flush()

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    while not stop.wait(0.5):
        pass
    handle.close()
    print("stopped", flush=True)
    return 0


def _call(method: str, url: str) -> Any:
    request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    base = args.url.rstrip("/")
    try:
        if args.command == "tick":
            result = _call("POST", f"{base}/_sim/tick?hours={args.hours}")
        else:
            result = _call("GET", f"{base}/_sim/companies")
    except urllib.error.HTTPError as exc:
        print(
            f"{args.command}: HTTP {exc.code}: {exc.read().decode(errors='replace')}",
            file=sys.stderr,
        )
        return 1
    except (urllib.error.URLError, OSError) as exc:
        print(f"{args.command}: cannot reach {base}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
