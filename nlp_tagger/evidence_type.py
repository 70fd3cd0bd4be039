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
CLASSIFIER_FILE = "classifier.skops"
OLD_CLASSIFIER_FILE = "classifier.joblib"  # the pickle format of earlier versions: never loaded
# the only type beyond skops' default-trusted scikit-learn, scipy, numpy and builtin ones that the
# classifier file may hold; any other refuses the file before anything is built
CLASSIFIER_TRUSTED = ("nlp_tagger.evidence_type.EvidenceTypeClassifier",)


# a progress cell or sentence that reports something done: a green RAG mark, a completion word, or
# a past-tense verb with its year ("Added 2025", "introduced in 2022")
_DONE = re.compile(
    r"\((?:g|green|complete[d]?)\)|\b(?:complete[d]?|done|achieved|in place|now (?:runs?|in use|standard))\b|"
    r"\b(?:added|launched|introduced|established|appointed|adopted|ran|held|rolled out|piloted|awarded|agreed|approved|published|"
    r"created|set up|delivered|extended|funded|trained|signed)\b[^.;|]{0,40}?\b(?:in |since |from )?(?:19|20)\d\d\b|"
    r"\b(?:in|since|from) (?:19|20)\d\d\b[^.;|]{0,40}?\b(?:added|launched|introduced|established|appointed|adopted|ran|held|rolled out|"
    r"piloted|awarded|agreed|approved|published|created|set up|delivered|extended|funded)\b", re.I)
_NOT_DONE = re.compile(r"\((?:a|r|amber|red)\)|\b(?:not (?:yet )?(?:started|complete[d]?|done)|on hold|delayed|in progress|ongoing|tbc|to be)\b", re.I)


def reported_done(text: str) -> EvidenceType | None:
    """What a passage reports as already done, whatever else it plans: an action-plan row's
    progress cell (its last), or a sentence with no future modality that says what was done.
    An outcome when it counts something, else an action; None when nothing is reported done."""
    cells = [c.strip() for c in text.split(" | ")]
    if len(cells) > 2:
        last = cells[-1]
        if _DONE.search(last) and not _NOT_DONE.search(last):
            return "outcome" if NUMBER_RE.search(re.sub(r"\b(?:19|20)\d\d\b", "", last)) else "action"
        return None
    if PLAN_RE.search(text):
        return None
    if OUTCOME_RE.search(text):
        return "outcome"
    if ACTION_RE.search(text) or _DONE.search(text):
        return "action"
    return None


def settle(text: str, predicted: EvidenceType) -> EvidenceType:
    """A plan (or an action-plan row read as a statement) that reports something done is an action or outcome: "We introduced
    X in 2022" is not a plan, and an action-plan row whose progress cell says it is done is
    achieved, however future its timescale column."""
    if predicted == "plan" or (predicted == "statement" and text.count(" | ") >= 2):
        return reported_done(text) or predicted
    return predicted


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
    return settle(text, _rule(*_cues(text)))


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
        return [settle(t, p) for t, p in zip(texts, self.model_.predict(self._features(texts, emb)))]

    def save(self, out_dir: Path, manifest: dict) -> None:
        """Save as skops (no pickle) and record the file's SHA-256 in the manifest (in place)."""
        from . import safe_model

        out_dir.mkdir(parents=True, exist_ok=True)
        safe_model.dump(self, out_dir / CLASSIFIER_FILE)
        (out_dir / OLD_CLASSIFIER_FILE).unlink(missing_ok=True)  # never leave a pickle beside it
        safe_model.record_files(manifest, out_dir, [CLASSIFIER_FILE])
        (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")

    @staticmethod
    def load(out_dir: Path) -> "EvidenceTypeClassifier | None":
        """The trained classifier, or None where no model was ever installed (the cue rules
        decide then). A folder with a model that is tampered with, incomplete, an old pickle or
        holding a type outside the allow-list is a ModelError: nothing in it is run."""
        from . import safe_model
        from .errors import ModelError

        fix = f"Retrain: `nlp-tagger train --types`, or delete {out_dir} to type evidence by the cue rules"
        mpath = out_dir / "manifest.json"
        if not mpath.exists():
            for name in (CLASSIFIER_FILE, OLD_CLASSIFIER_FILE):
                if (out_dir / name).exists():
                    if name == OLD_CLASSIFIER_FILE:
                        safe_model.refuse_pickle(out_dir / name, fix)
                    raise ModelError(mpath, "is missing, so the model file cannot be checked", fix)
            return None
        manifest = safe_model.read_manifest(mpath, fix)
        if not (out_dir / CLASSIFIER_FILE).exists() and (out_dir / OLD_CLASSIFIER_FILE).exists():
            safe_model.refuse_pickle(out_dir / OLD_CLASSIFIER_FILE, fix)
        path = safe_model.verify(out_dir, manifest, CLASSIFIER_FILE, fix)
        clf = safe_model.load(path, CLASSIFIER_TRUSTED, fix)
        if not isinstance(clf, EvidenceTypeClassifier) or not hasattr(clf, "model_") or not hasattr(clf, "vec_"):
            raise ModelError(path, "does not hold a fitted evidence-type classifier", fix)
        return clf
