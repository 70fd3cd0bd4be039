"""What the CLI commands do beyond one library call, kept out of cli.py so it stays thin."""

from __future__ import annotations

from pathlib import Path

from .evaluate import evaluate, summary_json, to_markdown
from .frameworks import load_framework
from .labels import load_gold
from .train import evaluate_types, typed_passages


def evaluation_scorers(framework, scorer: str, gold_docs: list[str] | None = None) -> tuple[dict, str]:
    """The scorer under test plus every baseline, as evaluate() takes them.

    The trained ranker is used as saved only when none of the gold documents was in its training
    set; otherwise it is retrained out of fold, so it is never scored on a document it saw."""
    from .baselines import BM25Baseline, TfidfBaseline
    from .ranker import RankerScorer, has_model
    from .scoring import EmbeddingBaseline, SimilarityScorer

    if scorer == "auto":
        scorer = "ranker" if has_model(framework) else "similarity"
    scorers: dict = {}
    if scorer == "ranker":
        saved = RankerScorer.load(framework) if has_model(framework) else None
        seen = set(saved.manifest["training_documents"]) if saved else set()
        if saved is not None and gold_docs is not None and not seen & set(gold_docs):
            scorers["ranker"] = saved
        else:
            scorers["ranker"] = RankerScorer.factory(framework)
    elif scorer not in ("similarity", "embedding", "tfidf", "bm25"):
        from .errors import ModelError

        raise ModelError(scorer, "unknown scorer", "Use auto, ranker, similarity, embedding, tfidf or bm25")
    scorers["similarity"] = SimilarityScorer()
    scorers.update({"embedding": EmbeddingBaseline, "tfidf": TfidfBaseline, "bm25": BM25Baseline})
    return scorers, scorer


def run_evaluate(gold_path: Path, framework_id: str, scorer: str, as_json: bool, results: Path | None, folds: int, command: str) -> dict:
    from rich.console import Console
    from rich.table import Table

    fw = load_framework(framework_id)
    gold = load_gold(gold_path, fw)
    scorers, default = evaluation_scorers(fw, scorer, gold.doc_ids)
    result = evaluate(gold, fw, scorers, default=default, n_folds=folds)
    texts, types, docs = typed_passages(gold)
    if len(texts) >= 20 and len(set(docs)) >= 2:
        from .embed import Embedder

        result["evidence_type"] = evaluate_types(texts, types, docs, Embedder(), folds)
    if results is not None:
        results.parent.mkdir(parents=True, exist_ok=True)
        results.write_text(to_markdown(result, command), encoding="utf-8")
    if as_json:
        print(summary_json(result))
        return result
    console = Console()
    table = Table(title=f"{fw.id}: {result['n_passages']} passages, {result['n_documents']} documents ({result['folds']} folds by document)")
    table.add_column("metric")
    for name in result["scorers"]:
        table.add_column(name + (" *" if name == result["default_scorer"] else ""), justify="right")
    from .evaluate import HEADLINE

    for key in HEADLINE:
        table.add_row(key, *[f"{r[key]:.3f}" for r in result["scorers"].values()])
    console.print(table)
    d = result["scorers"][result["default_scorer"]]
    worst = sorted((r for r in d["per_indicator"] if r["support"]), key=lambda r: r["f1"])[:8]
    console.print("weakest indicators: " + ", ".join(f"{r['id']} F1 {r['f1']:.2f} (n={r['support']})" for r in worst))
    console.print("top confusions (gold -> predicted): " + ", ".join(f"{a}->{b} x{n}" for a, b, n in d["confusions"][:6]))
    if "evidence_type" in result:
        et = result["evidence_type"]
        console.print(f"evidence type ({et['n_passages']} passages, out of fold): classifier macro F1 {et['classifier']['macro_f1']:.3f}, rules alone {et['rules']['macro_f1']:.3f}")
    return result
