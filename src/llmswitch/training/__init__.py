"""Offline tooling: datasets, training and evaluation. Never imported on the request path."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence


def module_main(
    doc: str | None,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    run: Callable[[argparse.Namespace], int],
    argv: Sequence[str] | None,
) -> int:
    """`python -m llmswitch.training.<module>`: the same arguments and run() as the module's CLI command."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0] if doc else None)
    add_arguments(parser)
    return run(parser.parse_args(argv))
