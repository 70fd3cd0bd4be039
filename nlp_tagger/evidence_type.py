"""What kind of evidence a passage is: an outcome, an action taken, a plan, or a statement.

Assessors weigh a measured outcome above an action, and an action above a plan. A classifier
trained on labelled passages (embedding + words + tense/modality/figure cues) decides when a
trained model exists; the cue rules alone decide otherwise.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .types import EvidenceType

TYPES: tuple[EvidenceType, ...] = ("outcome", "action", "plan", "statement")

PLAN_RE = re.compile(
    r"\b(will|shall|plan(?:s|ned)? to|intend(?:s)? to|aim(?:s)? to|going to|we propose|propose to|next steps?|by (?:the end of )?(?:20\d\d|summer|autumn|spring|winter|july|december)|"
    r"is to be|are to be|to be (?:introduced|developed|launched|reviewed)|future|forthcoming|over the next)\b",
    re.I,
)
OUTCOME_RE = re.compile(
    r"(\d+(?:\.\d+)?\s?%|\bper ?cent\b|\b(?:rose|risen|increased?|decreased?|fell|fallen|reduced|improved|doubled|tripled|halved|grew|up from|down from)\b.*\d|"
    r"\d.*\b(?:rose|risen|increase|decrease|fell|fallen|reduction|improvement|doubled|completed|attended|participated|responded|secured|promoted|awarded)\b|"
    r"\b(?:resulted in|as a result|led to|achieved|outcome|impact was|evaluation showed|feedback showed|survey (?:showed|found))\b)",
    re.I,
)
ACTION_RE = re.compile(
    r"\b(?:we|the university|the institution|the school|the team|the group|the committee|the office|hr|staff|managers)\b[^.]{0,60}?\b(?:have|has|had)?\s*"
    r"(?:introduced|launched|established|created|developed|implemented|delivered|ran|held|set up|appointed|rolled out|piloted|reviewed|revised|embedded|provided|funded|trained|published|adopted|extended|expanded)\b|"
    r"\b(?:was|were|has been|have been)\s+(?:introduced|launched|established|created|developed|implemented|delivered|held|set up|appointed|rolled out|piloted|reviewed|revised|embedded|provided|funded|published|adopted|extended|expanded)\b|"
    r"\b(?:introduced|launched|established|implemented|delivered|piloted|rolled out)\s+(?:in|during|last)\b",
    re.I,
)
NUMBER_RE = re.compile(r"\d")


def _cues(text: str):
    return PLAN_RE.search(text), OUTCOME_RE.search(text), ACTION_RE.search(text)


def _rule(plan, outcome, action) -> EvidenceType:
    if outcome and not (plan and plan.start() < 40):
        return "outcome"
    if plan:
        return "plan"
    if action:
        return "action"
    return "statement"


def classify(text: str) -> EvidenceType:
    """The cue rules: a figure with a change verb is an outcome; future modality a plan."""
    return _rule(*_cues(text))


def cue_features(texts: list[str]) -> np.ndarray:
    rows = []
    for t in texts:
        plan, outcome, action = _cues(t)
        rule = _rule(plan, outcome, action)
        rows.append([bool(plan), bool(outcome), bool(action), bool(NUMBER_RE.search(t)), "%" in t, *[rule == k for k in TYPES]])
    return np.asarray(rows, dtype=np.float32)


class EvidenceTypeClassifier:
    """Logistic regression over sentence embedding, word n-grams and the cue rules' flags."""

    def __init__(self, C: float = 4.0):
        self.C = C

    def _features(self, texts: list[str], emb: np.ndarray, fit: bool = False):
        from scipy.sparse import csr_matrix, hstack
        from sklearn.feature_extraction.text import TfidfVectorizer

        if fit:
            self.vec_ = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
            self.vec_.fit(texts)
        return hstack([self.vec_.transform(texts), csr_matrix(emb), csr_matrix(cue_features(texts) * 2.0)]).tocsr()

    def fit(self, texts: list[str], emb: np.ndarray, y: list[str]) -> "EvidenceTypeClassifier":
        from sklearn.linear_model import LogisticRegression

        X = self._features(texts, emb, fit=True)
        self.model_ = LogisticRegression(C=self.C, max_iter=3000, class_weight="balanced").fit(X, y)
        return self

    def predict(self, texts: list[str], emb: np.ndarray) -> list[str]:
        if not texts:
            return []
        return list(self.model_.predict(self._features(texts, emb)))

    def save(self, out_dir: Path, manifest: dict) -> None:
        import joblib

        out_dir.mkdir(parents=True, exist_ok=True)
        joblib.dump(self, out_dir / "classifier.joblib")
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def load(out_dir: Path) -> "EvidenceTypeClassifier | None":
        import joblib

        path = out_dir / "classifier.joblib"
        return joblib.load(path) if path.exists() else None
