"""Command line: serve the simulator, or tick / list companies / subscribe webhooks of one."""

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
from simulator.world import MAX_COMPANIES


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


def _window(text: str) -> int:
    value = int(text)
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
    if not 1 <= value <= MAX_COMPANIES:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_COMPANIES}")
    return value


def _start(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("needs an offset, e.g. 2026-03-01T00:00:00+00:00")
    return value


DEFAULT_URL = "http://127.0.0.1:8765"


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
    serve.add_argument(
        "--rate-limit", type=_non_negative, default=0.0, help="requests/s per credential; 0: none"
    )
    serve.add_argument("--auth-min-interval", type=_non_negative, default=60.0)
    serve.add_argument("--token-ttl", type=_positive, default=86400.0)
    serve.add_argument("--webhook-drop-rate", type=_share, default=0.0)
    serve.add_argument("--webhook-duplicate-rate", type=_share, default=0.0)
    serve.add_argument("--webhook-reorder-window", type=_window, default=0, help="0 or 1: in order")

    tick = commands.add_parser("tick", help="advance a running simulator")
    tick.add_argument("--url", default=DEFAULT_URL)
    tick.add_argument("--hours", type=int, default=1)
    tick.add_argument("--no-deliver", action="store_true", help="keep the webhook events queued")
    companies = commands.add_parser("companies", help="list credentials")
    companies.add_argument("--url", default=DEFAULT_URL)
    hooks = commands.add_parser("webhooks", help="subscribe a company to webhooks")
    hooks.add_argument("--url", default=DEFAULT_URL)
    hooks.add_argument("--company-id", type=int, required=True)
    hooks.add_argument("--tasks-url", default=None, help="receives task events")
    hooks.add_argument("--property-status-url", default=None, help="property-status events")
    hooks.add_argument("--secret", default="", help="sent as X-Webhook-Secret")
    hooks.add_argument("--no-handshake", action="store_true", help="skip test_webhook_event")
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
            rate_limit_per_second=args.rate_limit,
            auth_min_interval=args.auth_min_interval,
            token_ttl=args.token_ttl,
        ),
    )
    sim = Simulator(config)
    sim.webhook_delivery(
        drop_rate=args.webhook_drop_rate,
        duplicate_rate=args.webhook_duplicate_rate,
        reorder_window=args.webhook_reorder_window,
    )
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


def _call(method: str, url: str, body: Any = None) -> Any:
    data, headers = (b"" if method == "POST" else None), {}
    if body is not None:
        data, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
    request = urllib.request.Request(url, method=method, data=data, headers=headers)
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "webhooks" and not (args.tasks_url or args.property_status_url):
        parser.error("webhooks: give --tasks-url, --property-status-url or both")
    base = args.url.rstrip("/")
    try:
        if args.command == "tick":
            deliver = "&deliver=0" if args.no_deliver else ""
            result = _call("POST", f"{base}/_sim/tick?hours={args.hours}{deliver}")
        elif args.command == "webhooks":
            subscription: dict[str, Any] = {
                "company_id": args.company_id,
                "secret": args.secret,
                "handshake": not args.no_handshake,
            }
            for key in ("tasks_url", "property_status_url"):
                if getattr(args, key):
                    subscription[key] = getattr(args, key)
            result = _call("POST", f"{base}/_sim/webhooks", subscription)
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
