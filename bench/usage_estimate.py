"""How close the observer's usage estimate is for streams that carry no usage, on real answers.

A chat stream whose client set `stream_options.include_usage: false` is passed through as asked: the
router does not inject the option, and the response observer estimates the completion tokens from
the streamed text (characters / 4, `protocols.usage.SseUsageScanner.text_chars`). This compares that
estimate with the token counts providers reported for real answers (the LLMPerf leaderboard's
per-request data, Llama-2 on hosted APIs, files that kept the generated text).

    python bench/usage_estimate.py --data PATH/llmperf_leaderboard/individual
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from llmswitch.tokens import BYTES_PER_TOKEN


def estimate(text: str) -> int:
    """The observer's estimate for a stream whose text is `text`."""
    return -(-len(text) // BYTES_PER_TOKEN)


def rows(folder: Path) -> list[tuple[str, int]]:
    """(generated text, reported output tokens) of every successful request that kept its text."""
    found = []
    for path in sorted(folder.glob("*.json")):
        for row in json.loads(path.read_text()):
            text, tokens = row.get("GEN_TEXT"), row.get("number_output_tokens")
            if isinstance(text, str) and text and isinstance(tokens, int) and tokens > 0 and not row.get("error_code"):
                found.append((text, tokens))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="the leaderboard's individual/ folder")
    args = parser.parse_args()
    data = rows(args.data)
    if not data:
        raise SystemExit(f"no rows with generated text in {args.data}")
    ratios = [estimate(text) / tokens for text, tokens in data]
    total = sum(estimate(text) for text, _ in data) / sum(tokens for _, tokens in data)
    errors = [abs(r - 1) for r in ratios]
    print(f"{len(data)} answers, {sum(t for _, t in data)} reported output tokens")
    print(f"estimate / reported, per answer: median {statistics.median(ratios):.2f}, "
          f"p10 {statistics.quantiles(ratios, n=10)[0]:.2f}, p90 {statistics.quantiles(ratios, n=10)[-1]:.2f}")
    print(f"mean absolute error per answer: {statistics.mean(errors):.0%}; over all answers (what a budget sums): {total:.2f}")


if __name__ == "__main__":
    main()
