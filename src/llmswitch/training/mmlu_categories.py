"""The 57 MMLU subjects grouped into the 14 MMLU-Pro categories.

MMLU's own subject -> subcategory table (Hendrycks et al.) has 17 groups;
MMLU-Pro keeps 13 of them and folds the remaining four (geography, politics,
culture and MMLU's "other") into a single "other" category. See
docs/domain-classifier.md for the table and the reasoning.
"""

from __future__ import annotations

CATEGORIES: tuple[str, ...] = (
    "biology",
    "business",
    "chemistry",
    "computer science",
    "economics",
    "engineering",
    "health",
    "history",
    "law",
    "math",
    "other",
    "philosophy",
    "physics",
    "psychology",
)

SUBJECT_CATEGORY: dict[str, str] = {
    "abstract algebra": "math",
    "anatomy": "health",
    "astronomy": "physics",
    "business ethics": "business",
    "clinical knowledge": "health",
    "college biology": "biology",
    "college chemistry": "chemistry",
    "college computer science": "computer science",
    "college mathematics": "math",
    "college medicine": "health",
    "college physics": "physics",
    "computer security": "computer science",
    "conceptual physics": "physics",
    "econometrics": "economics",
    "electrical engineering": "engineering",
    "elementary mathematics": "math",
    "formal logic": "philosophy",
    "global facts": "other",
    "high school biology": "biology",
    "high school chemistry": "chemistry",
    "high school computer science": "computer science",
    "high school european history": "history",
    "high school geography": "other",
    "high school government and politics": "other",
    "high school macroeconomics": "economics",
    "high school mathematics": "math",
    "high school microeconomics": "economics",
    "high school physics": "physics",
    "high school psychology": "psychology",
    "high school statistics": "math",
    "high school us history": "history",
    "high school world history": "history",
    "human aging": "health",
    "human sexuality": "other",
    "international law": "law",
    "jurisprudence": "law",
    "logical fallacies": "philosophy",
    "machine learning": "computer science",
    "management": "business",
    "marketing": "business",
    "medical genetics": "health",
    "miscellaneous": "other",
    "moral disputes": "philosophy",
    "moral scenarios": "philosophy",
    "nutrition": "health",
    "philosophy": "philosophy",
    "prehistory": "history",
    "professional accounting": "other",
    "professional law": "law",
    "professional medicine": "health",
    "professional psychology": "psychology",
    "public relations": "other",
    "security studies": "other",
    "sociology": "other",
    "us foreign policy": "other",
    "virology": "health",
    "world religions": "philosophy",
}


def category_of(subject: str) -> str:
    """MMLU-Pro category of an MMLU subject; accepts "high_school_physics" or "high school physics"."""
    return SUBJECT_CATEGORY[subject.replace("_", " ").strip().lower()]
