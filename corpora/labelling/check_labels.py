"""Check a labelled JSONL file against its document's segmentation and its framework's ids."""
import json
import subprocess
import sys
from pathlib import Path

import yaml

labels_path, doc_path = Path(sys.argv[1]), Path(sys.argv[2])
root = Path(__file__).resolve().parents[2]
rows = [json.loads(l) for l in labels_path.read_text(encoding="utf-8").splitlines() if l.strip()]
fw_id = rows[0]["framework"]
fw = yaml.safe_load((root / "corpora" / "frameworks" / f"{fw_id}.yaml").read_text(encoding="utf-8"))
ids = {str(i["id"]) for i in fw["indicators"]}
out = subprocess.run([sys.executable, str(root / "cli.py"), "passages", str(doc_path), "-f", fw_id], capture_output=True, text=True, check=True).stdout
expected = [json.loads(l)["passage"] for l in out.splitlines() if l.strip()]
errors = []
got = [r["passage"] for r in rows]
if got != expected:
    missing = [p for p in expected if p not in got][:3]
    extra = [p for p in got if p not in expected][:3]
    errors.append(f"passages differ from segmentation ({len(got)} vs {len(expected)}); missing e.g. {missing}; unexpected e.g. {extra}")
for n, r in enumerate(rows, 1):
    for key in ("doc_id", "framework", "passage", "labels"):
        if key not in r:
            errors.append(f"line {n}: missing {key}")
    if not isinstance(r.get("labels"), list):
        errors.append(f"line {n}: labels must be a list")
        continue
    for lab in r["labels"]:
        if lab not in ids:
            errors.append(f"line {n}: unknown id {lab}")
    if r["labels"] and r.get("evidence_type") not in {"outcome", "action", "plan", "statement"}:
        errors.append(f"line {n}: labelled passage needs evidence_type")
    if r.get("label_source") not in {"author", "annotator"}:
        errors.append(f"line {n}: label_source must be author or annotator")
print("\n".join(errors[:20]) if errors else f"OK {len(rows)} passages")
sys.exit(1 if errors else 0)
