"""The `llmswitch import vsr` command: converted YAML to stdout (or --out), the report to stderr."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from llmswitch.config import ConfigError
from llmswitch.importers.vsr.convert import import_vsr


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="A vLLM Semantic Router config.yaml.")
    parser.add_argument("--out", "-o", type=Path, help="Write the llmswitch config here (default: stdout).")


def run(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(args.file), [f"cannot read file: {exc}"]) from None
    result = import_vsr(text, str(args.file))
    if args.out is None:
        sys.stdout.write(result.text)
    else:
        args.out.write_text(result.text, encoding="utf-8")
    config = result.loaded.config
    summary = (
        f"converted {args.file}: {len(config.models)} models, {len(config.decisions)} decisions; "
        f"valid llmswitch config{f' in {args.out}' if args.out else ''}"
    )
    print("\n".join([summary, *result.report.lines()]), file=sys.stderr)
    return 0
