"""The `llmswitch` command line."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import orjson

from llmswitch.config import Config, ConfigError, load_config


def _serve(args: argparse.Namespace) -> int:
    from llmswitch.server import serve

    serve(args.config)
    return 0


def _envoy_config(args: argparse.Namespace) -> int:
    from llmswitch.envoy_config import render_envoy_yaml

    text = render_envoy_yaml(load_config(args.config).config)
    if args.output is None:
        sys.stdout.write(text)
    else:  # written whole, then renamed: Envoy never starts from half a file
        staging = args.output.with_name(args.output.name + ".tmp")
        staging.write_text(text, encoding="utf-8")
        staging.replace(args.output)
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
    from llmswitch.protocols.errors import RequestError
    from llmswitch.reload import RouterState

    pipeline = RouterState(load_config(args.config)).pipeline
    headers = dict(_header_pair(h) for h in args.header)
    body = orjson.dumps({"model": args.model, "messages": [{"role": "user", "content": args.prompt}]})
    try:
        plan = asyncio.run(pipeline.route_async(headers, body))
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


def _models_export(args: argparse.Namespace) -> int:
    from llmswitch.inference.export import ensure_embedding_model, export_embedding_model

    build = export_embedding_model if args.force else ensure_embedding_model
    print(build(source_dir=args.source, out_dir=args.out, quantize=args.quantize))
    return 0


def _train_domain(args: argparse.Namespace) -> int:
    from llmswitch.inference.domain import shipped_head_path
    from llmswitch.training.domain import train_domain

    report = train_domain(args.out or shipped_head_path(), hidden=args.hidden, epochs=args.epochs, seed=args.seed)
    print(json.dumps(report, indent=2))
    return 0


def _add_command(parser: argparse.ArgumentParser, module_name: str) -> None:
    """A command whose module (offline tooling, imported only when run) has add_arguments() and run()."""
    module = importlib.import_module(module_name)
    module.add_arguments(parser)
    parser.set_defaults(handler=module.run)


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
    envoy = command("envoy-config", _envoy_config, "Print (or write) the Envoy bootstrap YAML for a config.")
    envoy.add_argument("--config", required=True)
    envoy.add_argument("--output", type=Path, help="Write it to this file instead of standard output.")
    command("check-config", _check_config, "Validate a config file.").add_argument("file")
    command("config-schema", _config_schema, "Print the config's JSON Schema.")
    route = command("route", _route, "Print the routing decision for a prompt, without any server.")
    route.add_argument("--config", required=True)
    route.add_argument("--model", default="auto", help='The request\'s "model" (default: auto).')
    route.add_argument("--header", "-H", action="append", default=[], help="Request header NAME:VALUE.")
    route.add_argument("prompt")
    models = commands.add_parser("models", help="Build the ONNX models semantic signals use.").add_subparsers(
        dest="models_command", required=True, metavar="COMMAND"
    )
    export = models.add_parser("export", help="Export the embedding model (default: MiniLM-L6 from its package).")
    export.set_defaults(handler=_models_export)
    export.add_argument("--source", type=Path, help="A local Hugging Face model folder.")
    export.add_argument("--out", type=Path, help="Where to write it (default: the model cache).")
    export.add_argument("--quantize", action="store_true", help="int8 dynamic quantisation.")
    export.add_argument("--force", action="store_true", help="Export even if a current model is there.")
    train = commands.add_parser("train", help="Train routing models.").add_subparsers(
        dest="train_command", required=True, metavar="COMMAND"
    )
    domain = train.add_parser("domain", help="Train the 14-category domain head on MMLU (reproducible).")
    domain.set_defaults(handler=_train_domain)
    domain.add_argument("--out", type=Path, help="Default: the head shipped in the package.")
    domain.add_argument("--hidden", type=int, default=128)
    domain.add_argument("--epochs", type=int, default=40)
    domain.add_argument("--seed", type=int, default=0)
    classifier = train.add_parser("classifier", help="Fine-tune a small encoder on text,label CSV and export it to ONNX.")
    _add_command(classifier, "llmswitch.training.classifier")
    selectors = train.add_parser("selectors", help="Train the selectors' artifacts from benchmark JSONL (seeded).")
    _add_command(selectors, "llmswitch.training.selectors")
    _add_command(
        commands.add_parser("profile", help="Send a query set to the configured models; write benchmark JSONL."),
        "llmswitch.training.profile",
    )
    _add_command(
        commands.add_parser("eval", help="Score every selector on the held-out split against the baselines."),
        "llmswitch.training.evaluate",
    )
    importers = commands.add_parser("import", help="Convert another router's config into an llmswitch config.")
    sources = importers.add_subparsers(dest="import_command", required=True, metavar="SOURCE")
    _add_command(
        sources.add_parser("vsr", help="A vLLM Semantic Router config.yaml; prints what it could not map."),
        "llmswitch.importers.vsr.command",
    )
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
