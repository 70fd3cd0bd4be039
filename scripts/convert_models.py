"""Convert pickled model folders (ranker.joblib, classifier.joblib) to the skops format.

    python scripts/convert_models.py                 # every folder under models/
    python scripts/convert_models.py models/aua-cpd  # given folders (or a folder of them)

This UNPICKLES the old files, which can run code: run it only on model folders you trained
yourself or otherwise trust (the shipped models/). Each old file is re-saved as skops, checked by
loading it back through the safe loader (allow-listed types only) and comparing its predictions,
then removed; manifest.json records the new files' SHA-256. A folder already converted is checked
and left as it is, so running the script twice changes nothing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nlp_tagger import safe_model  # noqa: E402
from nlp_tagger.errors import ModelError  # noqa: E402
from nlp_tagger.evidence_type import CLASSIFIER_FILE, CLASSIFIER_TRUSTED, OLD_CLASSIFIER_FILE, EvidenceTypeClassifier  # noqa: E402
from nlp_tagger.ranker import EXAMPLES_FILE, OLD_RANKER_FILE, RANKER_FILE, RANKER_TRUSTED, EvidenceRanker  # noqa: E402

FIX = "Convert it again from a trusted copy, or retrain"


def _same_ranker(a: EvidenceRanker, b: EvidenceRanker) -> bool:
    X = np.random.default_rng(0).random((256, a.model_.n_features_in_)).astype(np.float32)
    return np.array_equal(a.predict_proba(X), b.predict_proba(X))


def _same_classifier(a: EvidenceTypeClassifier, b: EvidenceTypeClassifier) -> bool:
    n_emb = a.model_.n_features_in_ - len(a.vec_.vocabulary_) - 9  # 9 cue features
    texts = ["We will launch a mentoring scheme by 2026.", "Uptake rose from 40% to 65% after the review.",
             "The committee introduced a new induction.", "We value our researchers."]
    emb = np.random.default_rng(0).random((len(texts), n_emb)).astype(np.float32)
    return a.predict(texts, emb) == b.predict(texts, emb)


def _manifest(folder: Path) -> dict:
    path = folder / "manifest.json"
    if not path.exists():
        raise ModelError(path, "is missing: this is not a model folder", "Pass a folder holding manifest.json")
    return json.loads(path.read_text(encoding="utf-8"))


def convert_folder(folder: Path) -> str:
    """Convert one model folder; returns what was done, in words."""
    import joblib

    manifest = _manifest(folder)
    if (folder / OLD_RANKER_FILE).exists() or (folder / RANKER_FILE).exists():
        old, new, trusted, extra = OLD_RANKER_FILE, RANKER_FILE, RANKER_TRUSTED, [EXAMPLES_FILE]
    elif (folder / OLD_CLASSIFIER_FILE).exists() or (folder / CLASSIFIER_FILE).exists():
        old, new, trusted, extra = OLD_CLASSIFIER_FILE, CLASSIFIER_FILE, CLASSIFIER_TRUSTED, []
    else:
        return "no ranker or evidence-type model here, skipped"

    if not (folder / old).exists():  # already converted: check it, change nothing
        for name in [new, *extra]:
            safe_model.verify(folder, manifest, name, FIX)
        safe_model.load(folder / new, trusted, FIX)
        return f"already {safe_model.FORMAT}, checked"

    obj = joblib.load(folder / old)  # trusted input only: see the module docstring
    if new == RANKER_FILE:
        blob = {"estimator": obj["estimator"], "groups": list(obj["groups"]), "thresholds": dict(obj["thresholds"]), "prior": np.asarray(obj["prior"])}
        safe_model.dump(blob, folder / new)
        back = safe_model.load(folder / new, trusted, FIX)
        if not _same_ranker(obj["estimator"], back["estimator"]) or back["thresholds"] != blob["thresholds"] or not np.array_equal(back["prior"], blob["prior"]):
            (folder / new).unlink()
            raise RuntimeError(f"{folder / new}: the converted ranker does not predict like the pickle; the pickle was kept")
        with np.load(folder / EXAMPLES_FILE, allow_pickle=False) as ex:  # must load without pickle too
            ex["emb"], ex["labels"], ex["doc_ids"]
    else:
        safe_model.dump(obj, folder / new)
        back = safe_model.load(folder / new, trusted, FIX)
        if not _same_classifier(obj, back):
            (folder / new).unlink()
            raise RuntimeError(f"{folder / new}: the converted classifier does not predict like the pickle; the pickle was kept")
    safe_model.record_files(manifest, folder, [new, *extra])
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (folder / old).unlink()
    return f"{old} -> {new}, SHA-256 recorded in manifest.json"


def model_folders(paths: list[Path]) -> list[Path]:
    out = []
    for p in paths:
        if (p / "manifest.json").exists():
            out.append(p)
        else:
            out += sorted(d for d in p.iterdir() if d.is_dir() and (d / "manifest.json").exists())
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folders", nargs="*", type=Path, default=[ROOT / "models"], help="model folders, or folders of them (default: models/)")
    args = ap.parse_args(argv)
    status = 0
    for folder in model_folders(args.folders):
        try:
            print(f"{folder}: {convert_folder(folder)}")
        except ModelError as exc:
            print(str(exc), file=sys.stderr)
            status = 1
        except Exception as exc:  # an unreadable pickle, a full disk: name the folder, go on with the rest
            print(f"{folder}: not converted ({type(exc).__name__}: {exc})", file=sys.stderr)
            status = 1
    return status


if __name__ == "__main__":
    raise SystemExit(main())
