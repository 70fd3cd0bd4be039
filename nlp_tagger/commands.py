"""What the CLI commands do beyond one library call, kept out of cli.py so it stays thin."""

from __future__ import annotations

from pathlib import Path

from .evaluate import can_train, evaluate, fmt, gold_matrix, summary_json, to_markdown
from .frameworks import load_framework
from .labels import load_gold
from .train import evaluate_types, typed_passages


def refuse_to_overwrite(inputs: list[Path], outputs: list[Path | None]) -> None:
    """No output may replace an input: a report written over the submission would destroy it."""
    from .errors import InputError

    ins = {p.resolve() for p in inputs if p is not None}
    for out in outputs:
        if out is not None and out.resolve() in ins:
            raise InputError(out, "is an input of this run and would be overwritten", "Choose another output path")


def evaluation_scorers(framework, scorer: str, gold_docs: list[str] | None = None, compare_encoders: bool = False) -> tuple[dict, str]:
    """The scorer under test plus every baseline, as evaluate() takes them.

    The trained ranker is used as saved only when none of the gold documents was in its training
    set; otherwise it is retrained (out of fold, or on the training set), so it is never scored on
    a document it saw. With `compare_encoders`, the ranker and the embedding baseline are also run
    on the frozen base encoder, retrained for it, in the same run."""
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
    if compare_encoders:
        from .embed import BASE_MODEL, Embedder

        frozen = Embedder(BASE_MODEL)
        if scorer == "ranker":
            scorers["ranker@frozen"] = (RankerScorer.factory(framework), frozen)
        scorers["embedding@frozen"] = (EmbeddingBaseline, frozen)
    return scorers, scorer


def training_gold_for(fw, gold, train_path: Path | None):
    """The training set for trainable scorers: the one asked for; else none (out of fold) when the
    gold can train; else the bundled labelled corpus, when the framework has one."""
    from .errors import LabelError
    from .train import LABELLED_DIR

    if train_path is not None:
        return load_gold(train_path, fw), None
    if can_train(gold_matrix(gold, fw)):
        return None, None
    try:
        train = load_gold(LABELLED_DIR, fw)
    except LabelError:
        raise LabelError(gold.files[0] if gold.files else "gold", "labels here cannot train the baselines out of fold (none at obligation level, or in one document only), and this framework has no bundled labelled corpus",
                         "Pass --train-gold FILE with obligation-level labels") from None
    return train, f"gold cannot train scorers out of fold; learned parts fitted on the bundled corpus ({LABELLED_DIR.name}/)"


def run_evaluate(gold_path: Path, framework_id: str, scorer: str, as_json: bool, results: Path | None, folds: int, command: str,
                 train_path: Path | None = None, compare_encoders: bool = False) -> dict:
    from rich.console import Console
    from rich.table import Table

    fw = load_framework(framework_id)
    gold = load_gold(gold_path, fw)
    train, note = training_gold_for(fw, gold, train_path)
    scorers, default = evaluation_scorers(fw, scorer, gold.doc_ids, compare_encoders)
    result = evaluate(gold, fw, scorers, default=default, n_folds=folds, train=train)
    if note:
        result["note"] = note
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
    how = f"{result['folds']} folds by document" if result["mode"] == "out-of-fold" else f"fitted on {len(result['training_documents'])} other documents"
    table = Table(title=f"{fw.id}: {result['n_passages']} passages, {result['n_documents']} documents ({how}); level: {result['level']}")
    table.add_column("metric")
    for name in result["scorers"]:
        table.add_column(name + (" *" if name == result["default_scorer"] else ""), justify="right")
    from .evaluate import HEADLINE

    for key in HEADLINE:
        table.add_row(key, *[fmt(r[key]) for r in result["scorers"].values()])
    console.print(table)
    if result.get("note"):
        console.print("note: " + result["note"], markup=False)
    d = result["scorers"][result["default_scorer"]]
    worst = sorted((r for r in d["per_indicator"] if r["support"]), key=lambda r: r["f1"])[:8]
    if worst:
        console.print("weakest indicators: " + ", ".join(f"{r['id']} F1 {r['f1']:.2f} (n={r['support']})" for r in worst))
    if d["confusions"]:
        console.print("top confusions (gold -> predicted): " + ", ".join(f"{a}->{b} x{n}" for a, b, n in d["confusions"][:6]))
    if "evidence_type" in result:
        et = result["evidence_type"]
        console.print(f"evidence type ({et['n_passages']} passages, out of fold): classifier macro F1 {et['classifier']['macro_f1']:.3f}, rules alone {et['rules']['macro_f1']:.3f}")
    return result
