"""`python -m sandbox`: run the sandbox servers until SIGINT/SIGTERM; print one JSON line when ready."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import threading

from sandbox.config import SandboxConfig
from sandbox.faults import parse_fault_spec
from sandbox.runner import _wait_for_signal, ready_message, start_sandbox

logger = logging.getLogger("sandbox")


def _config(args: argparse.Namespace) -> SandboxConfig:
    if args.config_json:
        return SandboxConfig.from_mapping(json.loads(args.config_json))
    config = SandboxConfig.from_env()
    overrides = {
        "seed": args.seed,
        "google_accounts": args.google_accounts,
        "meta_accounts": args.meta_accounts,
        "microsoft_accounts": args.microsoft_accounts,
        "tiktok_accounts": args.tiktok_accounts,
        "linkedin_accounts": args.linkedin_accounts,
        "as_of": args.as_of,
        "google_port": args.google_port,
        "meta_port": args.meta_port,
        "microsoft_port": args.microsoft_port,
        "tiktok_port": args.tiktok_port,
        "linkedin_port": args.linkedin_port,
        "cert_dir": args.cert_dir,
    }
    values = config.to_mapping() | {k: v for k, v in overrides.items() if v is not None}
    if args.faults:
        values["faults"] = values["faults"] + [f.to_mapping() for f in parse_fault_spec(args.faults)]
    return SandboxConfig.from_mapping(values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description=__doc__)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--google-accounts", type=int)
    parser.add_argument("--meta-accounts", type=int)
    parser.add_argument("--microsoft-accounts", type=int)
    parser.add_argument("--tiktok-accounts", type=int)
    parser.add_argument("--linkedin-accounts", type=int)
    parser.add_argument("--as-of", help="YYYY-MM-DD; default today")
    parser.add_argument("--google-port", type=int, help="default: a free port")
    parser.add_argument("--meta-port", type=int, help="default: a free port")
    parser.add_argument("--microsoft-port", type=int, help="default: a free port")
    parser.add_argument("--tiktok-port", type=int, help="default: a free port")
    parser.add_argument("--linkedin-port", type=int, help="default: a free port")
    parser.add_argument("--cert-dir", help="reuse/create the TLS certificate here")
    parser.add_argument("--faults", help="fault spec, inline JSON/YAML")
    parser.add_argument("--config-json", help="a whole SandboxConfig mapping as JSON (used by start_sandbox)")
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr)
    try:
        config = _config(args)
    except ValueError as exc:
        parser.error(str(exc))
    with start_sandbox(config) as handle:
        print(json.dumps(ready_message(handle)), flush=True)
        _wait_for_signal(threading.Event())
    return 0


if __name__ == "__main__":
    sys.exit(main())
