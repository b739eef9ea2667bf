"""The `llmswitch` command line."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence

import orjson

from llmswitch.config import Config, ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from llmswitch.server import serve

    serve(args.config)
    return 0


def _envoy_config(args: argparse.Namespace) -> int:
    from llmswitch.envoy_config import render_envoy_yaml

    sys.stdout.write(render_envoy_yaml(load_config(args.config).config))
    return 0


def _check_config(args: argparse.Namespace) -> int:
    loaded = load_config(args.file)
    config = loaded.config
    print(
        f"{loaded.source}: OK ({len(config.models)} models, {len(config.decisions)} decisions, "
        f"sha256 {loaded.sha256[:12]})"
    )
    return 0


def _config_schema(args: argparse.Namespace) -> int:
    print(json.dumps(Config.model_json_schema(by_alias=True), indent=2))
    return 0


def _route(args: argparse.Namespace) -> int:
    from llmswitch.pipeline import RoutingPipeline
    from llmswitch.protocols.errors import RequestError

    pipeline = RoutingPipeline(load_config(args.config))
    headers = dict(_header_pair(h) for h in args.header)
    body = orjson.dumps({"model": args.model, "messages": [{"role": "user", "content": args.prompt}]})
    try:
        plan = pipeline.route(headers, body)
    except RequestError as err:
        print(json.dumps({"status": err.status, "error": err.code, "message": err.message}))
        return 1
    result = {
        "model": plan.model.name,
        "decision": plan.decision,
        "algorithm": plan.algorithm,
        "cluster": plan.model.cluster,
        "reason": plan.reason,
        "signals": [{"type": t, "name": n, "confidence": c} for t, n, c in plan.signals],
    }
    print(json.dumps(result, indent=2))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from llmswitch.demo.run import run_demo

    return run_demo(keep_running=args.keep_running)


def _header_pair(text: str) -> tuple[str, str]:
    name, sep, value = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected NAME:VALUE, got {text!r}")
    return name.strip().lower(), value.strip()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmswitch", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, handler: Callable[[argparse.Namespace], int], help: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    command("serve", _serve, "Run the ext_proc gRPC server.").add_argument("--config", required=True)
    command("envoy-config", _envoy_config, "Print the Envoy bootstrap YAML for a config.").add_argument(
        "--config", required=True
    )
    command("check-config", _check_config, "Validate a config file.").add_argument("file")
    command("config-schema", _config_schema, "Print the config's JSON Schema.")
    route = command("route", _route, "Print the routing decision for a prompt, without any server.")
    route.add_argument("--config", required=True)
    route.add_argument("--model", default="auto", help='The request\'s "model" (default: auto).')
    route.add_argument("--header", "-H", action="append", default=[], help="Request header NAME:VALUE.")
    route.add_argument("prompt")
    command("demo", _demo, "Run Envoy, the router and stub models locally and send prompts through.").add_argument(
        "--keep-running", action="store_true", help="Leave the stack up for curl until Ctrl-C."
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and the like
        return 0


if __name__ == "__main__":
    sys.exit(main())
