"""The `nlp-tagger` command: a thin Typer layer over the nlp_tagger library API."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer

from nlp_tagger.errors import LabelError, NlpTaggerError

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Tag submission passages against assessment frameworks and report coverage.")
frameworks_app = typer.Typer(no_args_is_help=True, help="List, show and validate frameworks.")
app.add_typer(frameworks_app, name="frameworks")


def _fail(exc: NlpTaggerError) -> None:
    typer.echo(f"error: {exc}", err=True)
    raise typer.Exit(exc.exit_code)


OCR_HELP = ("PDF pages without a usable text layer: auto (read the pages that are mostly images with little text by OCR), "
            "never (refuse an image-only PDF; note image-heavy pages), always (read every page by OCR)")


def _check_ocr_mode(ocr: str) -> None:
    if ocr not in ("auto", "never", "always"):
        typer.echo(f"error: --ocr {ocr!r}: use auto, never or always", err=True)
        raise typer.Exit(2)


@app.command()
def check(
    submission: Path = typer.Argument(..., help="PDF, DOCX, TXT or Markdown file"),
    framework: str = typer.Option("concordat-2019", "--framework", "-f", help="Framework id or path to a framework YAML file"),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for the JSON, Markdown and CSV reports"),
    scorer: str = typer.Option("auto", "--scorer", help="Scorer name; 'auto' takes the trained model when one exists"),
    top_k: int = typer.Option(3, "--top-k", min=1, help="Evidence passages kept per indicator"),
    models: Optional[Path] = typer.Option(None, "--models", help="Folder of trained models (default: the bundled models/), e.g. one `train --models` wrote"),
    audience: Optional[list[str]] = typer.Option(None, "--audience", help="Audiences in scope, e.g. institutions,managers ('all' for every indicator); default: inferred from the document"),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No table on the terminal"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML report here"),
    annotate: Optional[Path] = typer.Option(None, "--annotate", help="Also write an annotated copy: a PDF with the evidence highlighted, or a DOCX with a Word comment on each evidence passage and a gap summary"),
    ocr: str = typer.Option("auto", "--ocr", help=OCR_HELP),
) -> None:
    """Report, for every indicator, whether and where the submission evidences it."""
    from nlp_tagger import check as run_check
    from nlp_tagger.commands import refuse_to_overwrite
    from nlp_tagger.report import print_table, write_all

    try:
        refuse_to_overwrite([submission, Path(framework)], [html_out, annotate])
        if annotate is not None:
            from nlp_tagger.annotate import check_annotate_target

            check_annotate_target(submission, annotate)
        _check_ocr_mode(ocr)
        cov = run_check(submission, framework, scorer=scorer, top_k=top_k, audience=audience, models_dir=models, ocr=ocr)
        if annotate is not None:
            from nlp_tagger.annotate import annotate as write_annotated

            kind, n = write_annotated(cov, annotate)
            if kind == "docx":
                typer.echo(f"wrote annotated DOCX ({n} passages commented, gap summary on the first paragraph): {annotate}")
            else:
                typer.echo(f"wrote annotated PDF ({n} passages highlighted): {annotate}")
    except NlpTaggerError as exc:
        _fail(exc)
    if not quiet:
        print_table(cov)
    if out is not None:
        for kind, path in write_all(cov, out).items():
            typer.echo(f"wrote {kind}: {path}")
    if html_out is not None:
        from nlp_tagger.html_report import render_html

        html_out.parent.mkdir(parents=True, exist_ok=True)
        html_out.write_text(render_html(cov), encoding="utf-8")
        typer.echo(f"wrote html: {html_out}")


@app.command()
def compare(
    old: Path = typer.Argument(..., help="The earlier draft"),
    new: Path = typer.Argument(..., help="The redraft"),
    framework: str = typer.Option("concordat-2019", "--framework", "-f", help="Framework id or YAML path"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
) -> None:
    """What a redraft gained and lost in coverage.

    Exit status: 0 compared; 2 an input or the framework refused (one line naming the file and the
    fix). Both drafts are checked before either is analysed."""
    from nlp_tagger import check as run_check
    from nlp_tagger.coverage import compare_coverage
    from nlp_tagger.errors import InputError
    from nlp_tagger.ingest import SUPPORTED

    try:
        for draft in (old, new):  # a missing or unreadable second draft is found before the first is analysed
            if not draft.exists():
                raise InputError(draft, "file not found", "Check the path")
            if draft.is_dir():
                raise InputError(draft, "is a folder, not a document", "Pass two files")
            if draft.suffix.lower() not in SUPPORTED:
                raise InputError(draft, f"unsupported file type '{draft.suffix or '(none)'}'", "Convert it to PDF, DOCX, TXT or Markdown")
            try:
                with open(draft, "rb") as f:
                    f.read(1)
            except OSError as exc:
                raise InputError(draft, f"cannot be read ({exc.strerror or type(exc).__name__})", "Check its permissions") from None
        diff = compare_coverage(run_check(old, framework), run_check(new, framework))
    except NlpTaggerError as exc:
        _fail(exc)
    if as_json:
        typer.echo(json.dumps(diff, indent=2))
        return
    typer.echo(f"{old.name} -> {new.name}: evidenced {diff['evidenced_before']} -> {diff['evidenced_after']} of {diff['leaves']} indicators "
               f"(strong {diff['strong_before']} -> {diff['strong_after']})")
    for row in diff["gained"]:
        typer.echo(f"  gained {row['id']} {row['title']}: {row['before']} -> {row['after']}")
    for row in diff["lost"]:
        typer.echo(f"  lost   {row['id']} {row['title']}: {row['before']} -> {row['after']}")


@app.command()
def passages(
    document: Path = typer.Argument(..., help="PDF, DOCX, TXT or Markdown file"),
    framework: str = typer.Option("", "--framework", "-f", help="Framework id written into each line (for labelling)"),
) -> None:
    """Print the document's passages as JSON Lines in the labelled-data format, labels left empty."""
    from nlp_tagger import extract, segment

    try:
        doc = extract(document)
    except NlpTaggerError as exc:
        _fail(exc)
    for p in segment(doc):
        row = {"doc_id": doc.doc_id, "framework": framework, "passage": p.text, "labels": None, "page": p.page, "section": p.section}
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")


@app.command()
def evaluate(
    gold: Path = typer.Option(..., "--gold", help="JSONL file or folder of them, in the shared labelled-data format"),
    framework: str = typer.Option(..., "--framework", "-f", help="Framework id or YAML path"),
    scorer: str = typer.Option("auto", "--scorer", help="Scorer to evaluate beside the baselines; 'auto' = the default one"),
    as_json: bool = typer.Option(False, "--json", help="One JSON object on stdout"),
    results: Optional[Path] = typer.Option(None, "--results", help="Also write the Markdown results to this file"),
    folds: int = typer.Option(5, "--folds", min=2, help="Cross-validation folds, grouped by document"),
    train_gold: Optional[Path] = typer.Option(None, "--train-gold", help="Fit learned parts on these labels (other documents) instead of out of fold"),
    compare_encoders: bool = typer.Option(False, "--compare-encoders", help="Also run the ranker and embedding baseline on the frozen base encoder"),
    documents: Optional[Path] = typer.Option(None, "--documents", help="Folder of the labelled documents (DOC_ID.md/.txt/.docx/.pdf): also check each whole document, in every format, and score the statuses"),
    formats: str = typer.Option("md,txt,docx,pdf", "--formats", help="With --documents: the formats each document is rendered to and checked as"),
) -> None:
    """Score labelled passages with the chosen scorer and the baselines, in one run."""
    from nlp_tagger.commands import run_evaluate

    try:
        run_evaluate(gold, framework, scorer, as_json, results, folds, command=" ".join(["nlp-tagger", *sys.argv[1:]]),
                     train_path=train_gold, compare_encoders=compare_encoders, documents=documents,
                     formats=tuple(f.strip() for f in formats.split(",") if f.strip()))
    except NlpTaggerError as exc:
        _fail(exc)


@app.command()
def train(
    framework: Optional[str] = typer.Option(None, "--framework", "-f", help="Framework id or YAML path; omit with --types"),
    gold: Optional[list[Path]] = typer.Option(None, "--gold", help="Labelled JSONL file or folder (default: corpora/labelled/); repeat to merge several. Review corrections exported from the HTML report alone are added to the bundled corpus"),
    quick: bool = typer.Option(False, "--quick", help="Skip cross-validation and the cross-fitted features: about a minute, for retraining after a review"),
    types: bool = typer.Option(False, "--types", help="Train the evidence-type classifier (outcome/action/plan/statement)"),
    encoder: bool = typer.Option(False, "--encoder", help="Fine-tune the sentence encoder on every labelled corpus (minutes); retrain rankers and types after"),
    models: Optional[Path] = typer.Option(None, "--models", help="Where models are saved (default: models/)"),
) -> None:
    """Train the evidence ranker for a framework (and/or the evidence-type classifier, the encoder)."""
    from nlp_tagger.frameworks import load_framework
    from nlp_tagger.train import LABELLED_DIR, train_ranker, train_types

    if not framework and not types and not encoder:
        typer.echo("error: give --framework ID, --types, --encoder, or several", err=True)
        raise typer.Exit(2)
    try:
        if encoder:
            from nlp_tagger.finetune import train_encoder

            if gold and len(gold) > 1:
                raise LabelError(gold[1], "the encoder trains on one labelled folder", "Give --gold once with --encoder")
            m = train_encoder(gold[0] if gold else LABELLED_DIR, (models / "encoder") if models else None)
            typer.echo(f"fine-tuned the encoder on {m['training_pairs']} pairs from {len(m['training_documents'])} documents in {m['train_seconds']} s")
        if framework:
            m = train_ranker(load_framework(framework), gold, models, cv=not quick, crossfit=not quick)
            if m.get("training_data_note"):
                typer.echo(m["training_data_note"])
            typer.echo(f"trained ranker for {m['framework']} on {m['training_passages']} passages from {len(m['training_documents'])} documents in {m['train_seconds']} s")
            if m["cv_metrics"]:
                typer.echo("out-of-fold metrics: " + ", ".join(f"{k} {v:.3f}" for k, v in m["cv_metrics"].items()))
        if types:
            m = train_types(gold, models)
            cv = m["cv_metrics"]
            typer.echo(f"trained evidence-type classifier on {m['training_passages']} passages: out-of-fold macro F1 {cv['classifier']['macro_f1']:.3f} (rules alone {cv['rules']['macro_f1']:.3f})")
    except NlpTaggerError as exc:
        _fail(exc)


@app.command()
def batch(
    inputs: list[str] = typer.Argument(..., help="Folders (recursive), glob patterns, ZIP archives or files"),
    framework: str = typer.Option(..., "--framework", "-f", help="Framework id or YAML path"),
    db: str = typer.Option("results.sqlite", "--db", help="SQLite file, or a database URL (postgresql://user@host/db)"),
    workers: int = typer.Option(1, "--workers", "-w", min=1, help="Worker processes (Ray actors with --engine ray), each loading the model once"),
    engine: str = typer.Option("local", "--engine", help="local (processes on this machine) or ray"),
    address: Optional[str] = typer.Option(None, "--address", help="Ray cluster address ('auto' for the running cluster)"),
    scorer: str = typer.Option("auto", "--scorer"),
    timeout: float = typer.Option(300.0, "--timeout", min=0, help="Per-document time limit in seconds (0: none)"),
    retry_failed: bool = typer.Option(False, "--retry-failed", help="Analyse again the documents that failed before"),
    no_progress: bool = typer.Option(False, "--no-progress", help="No live progress bar"),
    ocr: str = typer.Option("auto", "--ocr", help=OCR_HELP),
) -> None:
    """Analyse an archive into a database; re-running resumes and duplicates nothing.

    Exit status: 0 every document analysed (or done before); 1 some documents failed or some
    inputs were refused or skipped (a corrupt or empty ZIP, a corrupt member, a nested ZIP), each
    listed on stderr and recorded in the run; 2 the run could not start (one line naming the file
    and the fix); 130 stopped by Ctrl-C and 143 by SIGTERM (the run is marked interrupted, what was
    written is kept: run the same command again to resume). Several runs may write to one database
    at once: a document another run wrote is skipped, never duplicated."""
    from nlp_tagger.batch import run_batch

    if engine not in ("local", "ray"):
        typer.echo(f"error: unknown engine '{engine}'. Use local or ray", err=True)
        raise typer.Exit(2)
    _check_ocr_mode(ocr)
    import os

    os.environ["NLP_TAGGER_OCR"] = ocr  # read by each worker (nlp_tagger/batch/worker.py), which inherits it
    try:
        s = run_batch(inputs, framework, db, workers, engine, address, scorer, timeout, retry_failed, progress=not no_progress)
    except NlpTaggerError as exc:
        _fail(exc)
    except KeyboardInterrupt:
        typer.echo(f"error: {db}: interrupted; the documents written so far are kept. Run the same command again to resume", err=True)
        raise typer.Exit(130)
    for r in s.interrupted_runs:
        typer.echo(f"marked run {r['run_id']} interrupted (its process is gone): {r['n_ok']} analysed, {r['n_failed']} failed before it stopped")
    meanwhile = f", {s.skipped_concurrent} by another run meanwhile" if s.skipped_concurrent else ""
    typer.echo(f"run {s.run_id}: {s.n_ok} analysed, {s.n_failed} failed, {s.n_skipped} skipped (done before{meanwhile}), "
               f"{s.pages} pages in {s.seconds:.1f} s ({s.pages / max(s.seconds, 1e-9):.1f} pages/s) -> {db}")
    if s.worker_restarts:
        typer.echo(f"warning: a worker process died and was replaced ({s.worker_restarts}x); the documents it held were analysed again", err=True)
    for label, reason in s.input_errors:
        typer.echo(f"refused input: {label}: {reason}", err=True)
    for label, reason in s.failures:
        typer.echo(f"failed: {label}: {reason}", err=True)
    raise typer.Exit(1 if s.any_failed else 0)


@app.command()
def summary(
    db: str = typer.Option("results.sqlite", "--db", help="SQLite file or database URL"),
    by: str = typer.Option("indicator", "--by", help="indicator, year or institution"),
    framework: Optional[str] = typer.Option(None, "--framework", "-f", help="Only this framework id"),
    csv_out: Optional[Path] = typer.Option(None, "--csv", help="Write the table as CSV"),
    parquet_out: Optional[Path] = typer.Option(None, "--parquet", help="Write the table as Parquet (needs pyarrow)"),
    html_out: Optional[Path] = typer.Option(None, "--html", help="Also write a self-contained HTML dashboard of the archive here"),
) -> None:
    """Coverage across a batch database: rarely evidenced indicators, trends by year or institution."""
    from rich.console import Console
    from rich.table import Table

    from nlp_tagger.batch.summary import summarise, write_table

    try:
        from nlp_tagger.dashboard import check_output, write_dashboard

        # before any work: no output may replace the database or another output
        for option, out, others in (("--html", html_out, [csv_out, parquet_out]), ("--csv", csv_out, [parquet_out]), ("--parquet", parquet_out, [])):
            if out is not None:
                check_output(db, out, others, option)
        rows = summarise(db, by, framework)
        if csv_out:
            write_table(rows, csv_out, "csv")
        if parquet_out:
            write_table(rows, parquet_out, "parquet")
        if html_out is not None:
            write_dashboard(db, html_out, framework, [csv_out, parquet_out])
    except NlpTaggerError as exc:
        _fail(exc)
    from rich.text import Text

    from nlp_tagger.report import terminal_safe

    # institution names come from folder names: shown as text, never as Rich markup or escapes
    table = Table(title=Text(terminal_safe(f"{db}: coverage by {by}")))
    for col in (rows[0] if rows else {"framework": None}):
        table.add_column(col)
    for r in rows:
        table.add_row(*[Text(terminal_safe(str(v))) for v in r.values()])
    Console().print(table)
    if html_out is not None:
        typer.echo(f"wrote html: {html_out}")


@frameworks_app.command("list")
def frameworks_list() -> None:
    """The built-in frameworks."""
    from nlp_tagger.frameworks import builtin_ids, load_framework

    for fid in builtin_ids():
        try:
            fw = load_framework(fid)
            typer.echo(f"{fw.id}\t{len(fw.indicators)} indicators\t{fw.name}")
        except NlpTaggerError as exc:
            typer.echo(f"{fid}\tINVALID\t{exc}")


@frameworks_app.command("show")
def frameworks_show(framework: str = typer.Argument(..., help="Framework id or YAML path")) -> None:
    """The framework's indicators as a tree."""
    from nlp_tagger.frameworks import load_framework

    try:
        fw = load_framework(framework)
    except NlpTaggerError as exc:
        _fail(exc)
    typer.echo(f"{fw.name} ({fw.id}, version {fw.version})\nsource: {fw.source}")

    def show(parent: Optional[str], depth: int) -> None:
        for ind in fw.children(parent):
            typer.echo(f"{'  ' * depth}{ind.id}  {ind.title}")
            show(ind.id, depth + 1)

    show(None, 0)


@frameworks_app.command("validate")
def frameworks_validate(path: Path = typer.Argument(..., help="Framework YAML file")) -> None:
    """Check a framework file: YAML syntax, unique ids, known parents, non-empty texts."""
    from nlp_tagger.frameworks import load_framework_file

    try:
        fw = load_framework_file(path)
    except NlpTaggerError as exc:
        _fail(exc)
    typer.echo(f"{path}: valid ({len(fw.indicators)} indicators, {len(fw.leaves)} leaves)")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
