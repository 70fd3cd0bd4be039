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
                 train_path: Path | None = None, compare_encoders: bool = False, documents: Path | None = None,
                 formats: tuple[str, ...] | None = None) -> dict:
    from rich.console import Console
    from rich.table import Table

    fw = load_framework(framework_id)
    gold = load_gold(gold_path, fw)
    if documents is not None:  # a wrong folder or format is said before minutes of evaluation, not after
        check_status_inputs(gold, documents, formats)
    train, note = training_gold_for(fw, gold, train_path)
    scorers, default = evaluation_scorers(fw, scorer, gold.doc_ids, compare_encoders)
    result = evaluate(gold, fw, scorers, default=default, n_folds=folds, train=train)
    if note:
        result["note"] = note
    texts, types, docs = typed_passages(gold)
    if len(texts) >= 20 and len(set(docs)) >= 2:
        from .embed import Embedder

        result["evidence_type"] = evaluate_types(texts, types, docs, Embedder(), folds)
    if documents is not None:
        result["statuses"] = run_status_evaluation(gold, fw, documents, scorer, formats)
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
    if "statuses" in result:
        from .status_eval import STATUS_KEYS

        st = result["statuses"]
        t2 = Table(title=f"statuses on {st['documents']} whole documents, as {', '.join(st['formats'])}")
        t2.add_column("status metric")
        for f in st["formats"]:
            t2.add_column(f, justify="right")
        for key in STATUS_KEYS:
            t2.add_row(key, *[fmt(v) if isinstance(v, float) or v is None else str(v) for v in (st["by_format"][f][key] for f in st["formats"])])
        console.print(t2)
        console.print(f"statuses identical across formats: {fmt(st['format_agreement'])} of {st['format_pairs']} (document, obligation) pairs")
    if "evidence_type" in result:
        et = result["evidence_type"]
        console.print(f"evidence type ({et['n_passages']} passages, out of fold): classifier macro F1 {et['classifier']['macro_f1']:.3f}, rules alone {et['rules']['macro_f1']:.3f}")
    return result


def run_status_evaluation(gold, fw, documents: Path, scorer: str, formats: tuple[str, ...] | None) -> dict:
    """Statuses `check` gives the labelled documents, in every format, scored against the gold.
    The scorer is the one `check` would use, so only a ranker that never saw these documents
    is measured."""
    from .errors import LabelError
    from .pipeline import get_scorer
    from .status_eval import FORMATS, evaluate_statuses

    scorer_obj, _ = get_scorer(fw, None if scorer == "auto" else scorer)
    seen = set(getattr(scorer_obj, "manifest", {}).get("training_documents", ()))
    if seen & set(gold.doc_ids):
        raise LabelError(documents, f"holds documents the {scorer_obj.name} was trained on ({sorted(seen & set(gold.doc_ids))[0]}, ...)",
                         "Measure statuses on documents outside the training set (corpora/dev, corpora/check)")
    return evaluate_statuses(gold, fw, documents, scorer_obj, formats=tuple(formats or FORMATS))


def check_status_inputs(gold, documents: Path, formats: tuple[str, ...] | None) -> None:
    from .errors import LabelError
    from .status_eval import FORMATS, document_sources

    document_sources(documents, gold)
    unknown = [f for f in formats or () if f not in FORMATS]
    if unknown:
        raise LabelError(documents, f"unknown format {unknown[0]!r}", f"Use --formats with some of: {', '.join(FORMATS)}")
