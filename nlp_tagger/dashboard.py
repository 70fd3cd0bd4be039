"""The archive dashboard: one self-contained HTML file over a batch database.

`nlp-tagger summary --db DB [-f FRAMEWORK] --html FILE` writes it. Per framework it shows the share
of documents with strong, weak and no evidence for every indicator (stacked bars grouped by
principle), the mean share of indicators evidenced by year (bars), a heat map of institutions x
principles, the failed documents and the runs, with the counts on top.

Everything is drawn here as inline SVG and HTML tables: no script at all, no CDN, no request of any
kind (a Content-Security-Policy in the page forbids them too). Every string that comes from the
database (institution and file names, error messages, indicator ids, framework ids) is untrusted:
it is passed through `html.escape(..., quote=True)` in text and in attributes alike, and never
reaches a script. Each chart has a text alternative (an SVG <title> and <desc>, named with
aria-labelledby) and the same figures in a data table.
"""

from __future__ import annotations

import datetime as dt
import html
import os
import tempfile
from collections import defaultdict
from pathlib import Path

from .errors import InputError, NlpTaggerError

# An indicator counts as evidenced in a document when its status is strong or weak, as `summarise`
# (the `summary` table) counts it, so the page and the table printed with it agree. "planned"
# (evidence that is only intentions) gets its own colour; out-of-scope rows are not read; a
# status this version does not know (a newer tool, a hand-edited database) is shown as "other".
STATUSES = ("strong", "weak", "planned", "other", "none")  # stacking order
EVIDENCED = ("strong", "weak")  # as `summary` counts: planned only is not yet evidence
ALWAYS_SHOWN = ("strong", "weak", "none")
STATUS_COLOUR = {"strong": "#1b6e3c", "weak": "#8a5a00", "planned": "#5b3c99", "other": "#595959", "none": "#a4262c"}  # as in the single-document report
STATUS_LABEL = {"strong": "strong evidence", "weak": "weak evidence", "planned": "planned only", "other": "other status", "none": "no evidence"}
# ColorBrewer "Greens": light (nothing evidenced) to dark (everything evidenced)
HEAT_STOPS = ((0.0, (247, 252, 245)), (0.5, (116, 196, 118)), (1.0, (0, 68, 27)))
MAX_LIST_ROWS = 500  # failed documents and runs listed; the counts always cover all

CSS = """
:root{--ink:#1f1f1f;--muted:#4a4a4a;--line:#c8c8c8}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
header,main{max-width:1180px;margin:0 auto;padding:0 20px}header{padding-top:16px}
h1{font-size:1.6rem;margin:.4em 0}h2{font-size:1.3rem;margin:1.4em 0 .5em;border-bottom:1px solid var(--line)}h3{font-size:1.08rem;margin:1.2em 0 .4em}
.meta{color:var(--muted)}.note{background:#fff4ce;border-left:4px solid #8a5a00;padding:6px 10px}
.empty{font-size:1.1rem;padding:14px;border:1px solid var(--line);border-radius:6px;background:#f7f7f7}
.counts{display:flex;flex-wrap:wrap;gap:10px;margin:8px 0;padding:0}
.counts div{border:1px solid var(--line);border-radius:6px;padding:6px 14px;min-width:130px}
.counts dt{font-size:.85rem;color:var(--muted)}.counts dd{margin:0;font-size:1.5rem;font-weight:700}
.chart{display:block;width:100%;height:auto;max-width:1100px}.chart.fixed{width:auto;max-width:100%}
.pair{display:grid;grid-template-columns:repeat(auto-fit,minmax(340px,1fr));gap:0 32px;align-items:end}.pair>div{min-width:0}
.chart text{font:12px system-ui,-apple-system,Segoe UI,Roboto,sans-serif;fill:#1f1f1f}.chart .grp{font-weight:700;font-size:13px}
.chart .axis{fill:#4a4a4a}
.legend{display:flex;flex-wrap:wrap;gap:16px;margin:4px 0;padding:0;list-style:none;font-size:.9rem}
.swatch{display:inline-block;width:14px;height:14px;border-radius:2px;vertical-align:-2px;margin-right:5px}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#f0f0f0}tbody th{font-weight:600}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0}
table.heat td.cell{text-align:center;font-weight:600;font-variant-numeric:tabular-nums;min-width:70px}
.name{overflow-wrap:break-word}table.heat tbody th{min-width:12em;max-width:28em}
details{margin:6px 0}summary{cursor:pointer;font-weight:600}
@media print{@page{size:A4;margin:15mm}body{font-size:10pt}details>*{display:block}.framework{break-before:page}}
"""


def esc(value: object) -> str:
    """Text or attribute value from anywhere (the database above all), made inert."""
    return html.escape("" if value is None else str(value), quote=True)


def pct(share: float) -> str:
    return f"{share * 100:.0f}%"


def _name(value: object, missing: str = "(unknown)") -> str:
    """An untrusted name as text: escaped, isolated for bidirectional text, wrapping anywhere."""
    return f"<bdi class='name'>{esc(value)}</bdi>" if value not in (None, "") else f"<span class='meta'>{missing}</span>"


def _heat_colour(share: float) -> tuple[str, str]:
    """Background for a share in [0, 1], and black or white text, whichever contrasts more
    (at least 4.5:1 for any background)."""
    share = min(max(share, 0.0), 1.0)
    for (x0, c0), (x1, c1) in zip(HEAT_STOPS, HEAT_STOPS[1:]):
        if share <= x1:
            t = (share - x0) / (x1 - x0)
            rgb = tuple(round(a + (b - a) * t) for a, b in zip(c0, c1))
            break

    def lum(c: int) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    y = 0.2126 * lum(rgb[0]) + 0.7152 * lum(rgb[1]) + 0.0722 * lum(rgb[2])
    ink = "#000000" if (y + 0.05) / 0.05 >= 1.05 / (y + 0.05) else "#ffffff"
    return "#%02x%02x%02x" % rgb, ink


def _status(value: object) -> str:
    return value if value in STATUS_LABEL else "other"


def _titles(framework_id: str, run_hashes: set[str]) -> tuple[dict[str, str], str | None, str | None]:
    """Indicator titles and the framework's name from the installed framework file, when the id is
    a built-in one (never a path taken from the database); and a note when that file is not the
    one the runs used."""
    from .frameworks import builtin_ids, load_framework

    if framework_id not in builtin_ids():
        return {}, None, f"Framework '{framework_id}' is not a built-in one: indicators are shown by id only."
    try:
        fw = load_framework(framework_id)
    except NlpTaggerError:
        return {}, None, f"The framework file for '{framework_id}' cannot be read: indicators are shown by id only."
    note = None
    if run_hashes and fw.content_hash not in run_hashes:
        note = f"The installed framework file for '{framework_id}' differs from the one these runs used: titles are from the installed file."
    return {i.id: i.title for i in fw.indicators}, fw.name, note


def framework_view(framework_id: str, data: dict) -> dict:
    """The aggregates one framework's section shows, from `summary.archive_data`'s rows."""
    rows = [r for r in data["coverage"] if r["framework_id"] == framework_id]
    analyses = [a for a in data["analyses"] if a["framework_id"] == framework_id]
    runs = [r for r in data["runs"] if r["framework_id"] == framework_id]
    parent: dict[str, str | None] = {}
    order: list[str] = []
    for r in rows:
        if r["indicator_id"] not in parent:
            order.append(r["indicator_id"])
        parent[r["indicator_id"]] = r["parent_id"]
    parents = {p for p in parent.values() if p}
    leaves = [i for i in order if i not in parents]

    def root_of(ind: str) -> str | None:
        seen = {ind}
        while parent.get(ind) and parent[ind] not in seen:  # a cycle in a hand-edited database ends here
            ind = parent[ind]
            seen.add(ind)
        return ind if parent.get(ind) is None and ind not in leaves else None

    root = {leaf: root_of(leaf) for leaf in leaves}
    groups: list[str | None] = []
    for leaf in leaves:
        if root[leaf] not in groups:
            groups.append(root[leaf])
    leaf_set = set(leaves)

    docs = {a["analysis_id"]: a for a in analyses}
    per_leaf = {leaf: dict.fromkeys(STATUSES, 0) for leaf in leaves}
    per_doc: dict[int, list[tuple[str, str]]] = defaultdict(list)  # analysis -> [(leaf, status)]
    for r in rows:
        if r["indicator_id"] in leaf_set:
            status = _status(r["status"])
            per_leaf[r["indicator_id"]][status] += 1
            per_doc[r["analysis_id"]].append((r["indicator_id"], status))

    doc_share: dict[int, dict] = {}
    for aid, items in per_doc.items():
        by_group: dict = defaultdict(list)
        for leaf, status in items:
            by_group[root[leaf]].append(status in EVIDENCED)
        doc_share[aid] = {
            "all": sum(s in EVIDENCED for _, s in items) / len(items),
            **{s: sum(x == s for _, x in items) / len(items) for s in STATUSES},
            "groups": {g: sum(v) / len(v) for g, v in by_group.items()},
        }

    def mean(values: list[float]) -> float:
        return sum(values) / len(values) if values else 0.0

    by_year: dict = defaultdict(list)
    by_inst: dict = defaultdict(list)
    for aid, share in doc_share.items():
        a = docs.get(aid, {})
        by_year[a.get("year")].append(share)
        by_inst[a.get("institution")].append(share)
    years = [{"year": y, "documents": len(v), "evidenced": mean([s["all"] for s in v]), **{st: mean([s[st] for s in v]) for st in STATUSES}}
             for y, v in sorted(by_year.items(), key=lambda kv: _year_key(kv[0]))]
    institutions = []
    for inst, v in sorted(by_inst.items(), key=lambda kv: (kv[0] is None, str(kv[0] or "").casefold())):
        institutions.append({"institution": inst, "documents": len(v), "all": mean([s["all"] for s in v]),
                             "groups": {g: mean([s["groups"][g] for s in v if g in s["groups"]]) if any(g in s["groups"] for s in v) else None for g in groups}})

    failed = [a for a in analyses if a["status"] != "ok"]
    titles, name, note = _titles(framework_id, {r["framework_sha256"] for r in runs})
    present = {s for c in per_leaf.values() for s, n in c.items() if n}
    return {
        "statuses": tuple(s for s in STATUSES if s in ALWAYS_SHOWN or s in present),
        "id": framework_id, "name": name, "notes": [note] if note else [], "titles": titles,
        "leaves": leaves, "root": root, "groups": groups, "per_leaf": per_leaf,
        "years": years, "institutions": institutions, "failed": failed, "runs": runs,
        "n_ok": sum(a["status"] == "ok" for a in analyses), "n_with_coverage": len(doc_share), "n_failed": len(failed), "n_runs": len(runs),
        "pages": sum(a["pages"] for a in analyses if a["status"] == "ok" and isinstance(a["pages"], int)),
        "n_refused": sum(_n_refused(r) for r in runs),
    }


def _year_key(year: object) -> tuple:
    """Years in order, unknown last; anything else a hand-edited database holds after them."""
    return (year is None, not isinstance(year, int), year if isinstance(year, int) else 0, str(year))


def _year_label(year: object) -> str:
    return "unknown" if year is None else str(year)


def _n_refused(run: dict) -> int:
    return len(run["input_errors"]) if isinstance(run["input_errors"], list) else 0


def _label(v: dict, ind: str | None, width: int = 0) -> str:
    """'ID title' for an indicator or principle (plain text, not yet escaped)."""
    if ind is None:
        return "Indicators with no principle"
    title = v["titles"].get(ind, "")
    text = f"{ind} {title}".strip()
    return text if not width or len(text) <= width else text[: width - 1].rstrip() + "\u2026"


def _legend(statuses: tuple[str, ...]) -> str:
    return ("<ul class='legend' aria-hidden='true'>" + "".join(
        f"<li><span class='swatch' style='background:{STATUS_COLOUR[s]}'></span>{STATUS_LABEL[s].capitalize()}</li>" for s in statuses) + "</ul>")


def _indicator_chart(v: dict, p: str) -> str:
    """Stacked horizontal bars, one row per indicator, grouped by principle."""
    width, label_w, bar_w, row_h, grp_h = 1100, 420, 560, 20, 28
    y = 6
    body: list[str] = []
    for g in v["groups"]:
        y += grp_h
        body.append(f"<text class='grp' x='0' y='{y - 9}'>{esc(_label(v, g, 90))}</text>")
        for leaf in (l for l in v["leaves"] if v["root"][l] == g):
            counts = v["per_leaf"][leaf]
            n = sum(counts.values())
            full = _label(v, leaf)
            body.append(f"<g class='ind-row' data-indicator='{esc(leaf)}' data-documents='{n}' "
                        + " ".join(f"data-{s}='{counts[s]}'" for s in STATUSES) + ">")
            body.append(f"<text x='12' y='{y + 14}'>{esc(_label(v, leaf, 62))}<title>{esc(full)}</title></text>")
            x = float(label_w)
            for s in v["statuses"]:
                w = bar_w * counts[s] / n if n else 0
                if w > 0:
                    body.append(f"<rect class='seg-{s}' x='{x:.2f}' y='{y + 2}' width='{w:.2f}' height='{row_h - 4}' fill='{STATUS_COLOUR[s]}'>"
                                f"<title>{esc(full)}: {STATUS_LABEL[s]} in {counts[s]} of {n} documents ({pct(counts[s] / n)})</title></rect>")
                    x += w
            evidenced = (n - counts["none"]) / n if n else 0.0
            body.append(f"<text x='{label_w + bar_w + 10}' y='{y + 14}'>{pct(evidenced)} ({n - counts['none']} of {n})</text></g>")
            y += row_h
    height = y + 8
    share = {l: 1 - v["per_leaf"][l]["none"] / max(sum(v["per_leaf"][l].values()), 1) for l in v["leaves"]}
    rare = sorted(v["leaves"], key=lambda l: share[l])[:5]  # a stable sort: ties keep the framework's order
    rare_txt = "; ".join(f"{_label(v, l, 60)} ({pct(share[l])} evidenced)" for l in rare)
    title = f"Share of {v['n_with_coverage']} documents with {', '.join(STATUS_LABEL[s] for s in v['statuses'])} for each of the {len(v['leaves'])} indicators of {v['id']}, grouped by principle"
    return (f"<svg class='chart' id='{p}-ind-chart' role='img' aria-labelledby='{p}-ind-t {p}-ind-d' viewBox='0 0 {width} {height}' "
            f"xmlns='http://www.w3.org/2000/svg'><title id='{p}-ind-t'>{esc(title)}</title>"
            f"<desc id='{p}-ind-d'>Least often evidenced: {esc(rare_txt)}. The figures for every indicator are in the table that follows the chart.</desc>"
            f"{''.join(body)}</svg>"), rare


def _indicator_table(v: dict, p: str) -> str:
    shown = v["statuses"]
    out = [f"<details id='{p}-ind-details'><summary>Coverage by indicator as a table ({len(v['leaves'])} rows)</summary><div class='scroll' role='region' tabindex='0' aria-labelledby='{p}-ind-cap'>"
           f"<table id='{p}-ind-table'><caption id='{p}-ind-cap'>Documents by status, per indicator of {esc(v['id'])}</caption>"
           "<thead><tr><th scope='col'>Indicator</th><th scope='col'>Principle</th>"
           + "".join(f"<th scope='col' class='num'>{STATUS_LABEL[s].capitalize()}</th>" for s in shown)
           + "<th scope='col' class='num'>Documents</th><th scope='col' class='num'>Evidenced</th></tr></thead><tbody>"]
    for leaf in v["leaves"]:
        c = v["per_leaf"][leaf]
        n = sum(c.values())
        out.append(f"<tr data-indicator='{esc(leaf)}'><th scope='row'>{esc(_label(v, leaf))}</th><td>{esc(v['root'][leaf] or '-')}</td>"
                   + "".join(f"<td class='num' data-status='{s}'>{c[s]}</td>" for s in shown)
                   + f"<td class='num'>{n}</td><td class='num'>{pct((n - c['none']) / n) if n else '-'}</td></tr>")
    out.append("</tbody></table></div></details>")
    return "".join(out)


def _year_chart(v: dict, p: str) -> str:
    years = v["years"]
    stack = [s for s in v["statuses"] if s != "none"]
    width, height, left, right, top, bottom = min(1100, max(320, 90 * len(years) + 80)), 280, 56, 12, 24, 52
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / max(len(years), 1)
    bar = min(64.0, slot * 0.6)
    body = []
    for t in (0, 0.25, 0.5, 0.75, 1.0):
        yy = top + plot_h * (1 - t)
        body.append(f"<line x1='{left}' x2='{width - right}' y1='{yy:.1f}' y2='{yy:.1f}' stroke='#d0d0d0'/>"
                    f"<text class='axis' x='{left - 8}' y='{yy + 4:.1f}' text-anchor='end'>{pct(t)}</text>")
    for i, row in enumerate(years):
        label = esc(_year_label(row["year"]))
        cx = left + slot * (i + 0.5)
        x = cx - bar / 2
        y = top + plot_h
        body.append(f"<g class='year-bar' data-year='{label}' data-documents='{row['documents']}' data-evidenced='{row['evidenced']:.4f}' data-strong='{row['strong']:.4f}'>")
        for s in stack:
            h = plot_h * row[s]
            if h > 0:
                y -= h
                body.append(f"<rect x='{x:.2f}' y='{y:.2f}' width='{bar:.2f}' height='{h:.2f}' fill='{STATUS_COLOUR[s]}'><title>{label}: mean share {STATUS_LABEL[s]} {pct(row[s])}</title></rect>")
        body.append(f"<text x='{cx:.2f}' y='{y - 6:.2f}' text-anchor='middle'>{pct(row['evidenced'])}</text>"
                    f"<text x='{cx:.2f}' y='{top + plot_h + 18}' text-anchor='middle'>{label}</text>"
                    f"<text class='axis' x='{cx:.2f}' y='{top + plot_h + 36}' text-anchor='middle'>{row['documents']} doc{'s' if row['documents'] != 1 else ''}</text></g>")
    desc = "; ".join(f"{_year_label(r['year'])}: {pct(r['evidenced'])} evidenced, {pct(r['strong'])} strong, {r['documents']} documents" for r in years)
    return (f"<svg class='chart fixed' id='{p}-year-chart' role='img' aria-labelledby='{p}-year-t {p}-year-d' width='{width}' height='{height}' viewBox='0 0 {width} {height}' xmlns='http://www.w3.org/2000/svg'>"
            f"<title id='{p}-year-t'>Mean share of the indicators of {esc(v['id'])} evidenced per document, by year, stacked by status (strong at the bottom)</title>"
            f"<desc id='{p}-year-d'>{esc(desc)}. The same figures are in the table below.</desc>{''.join(body)}</svg>"), stack


def _year_table(v: dict, p: str, stack: list[str]) -> str:
    out = [f"<table id='{p}-years'><caption>Coverage of {esc(v['id'])} by year: mean over the year's documents of the share of indicators evidenced, and of each status</caption><thead><tr>"
           "<th scope='col'>Year</th><th scope='col' class='num'>Documents</th><th scope='col' class='num'>Evidenced</th>"
           + "".join(f"<th scope='col' class='num'>{STATUS_LABEL[s].split(' evidence')[0].capitalize()}</th>" for s in stack) + "</tr></thead><tbody>"]
    for r in v["years"]:
        label = esc(_year_label(r["year"]))
        out.append(f"<tr data-year='{label}'><th scope='row'>{label}</th><td class='num'>{r['documents']}</td>"
                   f"<td class='num' data-value='{r['evidenced']:.4f}'>{pct(r['evidenced'])}</td>"
                   + "".join(f"<td class='num' data-status='{s}' data-value='{r[s]:.4f}'>{pct(r[s])}</td>" for s in stack) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _heat_cell(share: float | None, key: str, what: str) -> str:
    if share is None:
        return f"<td class='cell' data-principle='{esc(key)}'>-</td>"
    bg, ink = _heat_colour(share)
    return f"<td class='cell' data-principle='{esc(key)}' data-value='{share:.4f}' style='background:{bg};color:{ink}' title='{esc(what)}: {pct(share)}'>{pct(share)}</td>"


def _institution_table(v: dict, p: str) -> str:
    groups = v["groups"]
    out = [f"<div class='scroll' role='region' tabindex='0' aria-labelledby='{p}-inst-cap'><table class='heat' id='{p}-institutions'>"
           f"<caption id='{p}-inst-cap'>Coverage of {esc(v['id'])} by institution and principle: mean over each institution's documents of the share of the principle's indicators evidenced (any status but no evidence); darker is higher</caption>"
           "<thead><tr><th scope='col'>Institution</th><th scope='col' class='num'>Documents</th>"]
    out += [f"<th scope='col'>{esc(_label(v, g, 60))}</th>" for g in groups]
    out.append("<th scope='col'>All indicators</th></tr></thead><tbody>")
    for row in v["institutions"]:
        inst = row["institution"]
        who = "(unknown)" if inst in (None, "") else str(inst)
        out.append(f"<tr data-institution='{esc(inst or '')}'><th scope='row'>{_name(inst)}</th><td class='num'>{row['documents']}</td>")
        out += [_heat_cell(row["groups"][g], g or "", f"{who}, {_label(v, g)}") for g in groups]
        out.append(_heat_cell(row["all"], "all", f"{who}, all indicators") + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _failed_table(v: dict, p: str) -> str:
    failed = v["failed"]
    if not failed:
        return "<p>No document failed.</p>"
    out = [f"<div class='scroll' role='region' tabindex='0' aria-labelledby='{p}-failed-cap'><table id='{p}-failed'><caption id='{p}-failed-cap'>Documents that could not be analysed for {esc(v['id'])}, with the reason</caption>"
           "<thead><tr><th scope='col'>File</th><th scope='col'>Institution</th><th scope='col'>Year</th><th scope='col'>Reason</th></tr></thead><tbody>"]
    for a in failed[:MAX_LIST_ROWS]:
        out.append(f"<tr><td>{_name(a['file_name'] or a['path'])}</td><td>{_name(a['institution'])}</td><td>{esc(a['year'] if a['year'] is not None else '-')}</td>"
                   f"<td>{_name(a['error'], '-')}</td></tr>")
    out.append("</tbody></table></div>")
    if len(failed) > MAX_LIST_ROWS:
        out.append(f"<p class='meta'>and {len(failed) - MAX_LIST_ROWS} more; `nlp-tagger summary` and the database list them all.</p>")
    return "".join(out)


def _when(t: object) -> str:
    if isinstance(t, dt.datetime):
        return t.strftime("%Y-%m-%d %H:%M")
    return "-" if t is None else str(t)


def _runs_table(v: dict, p: str) -> str:
    runs = v["runs"][-MAX_LIST_ROWS:]
    out = [f"<details id='{p}-runs-details'><summary>Runs ({v['n_runs']})</summary><div class='scroll' role='region' tabindex='0' aria-labelledby='{p}-runs-cap'>"
           f"<table id='{p}-runs'><caption id='{p}-runs-cap'>Batch runs for {esc(v['id'])}</caption><thead><tr><th scope='col' class='num'>Run</th>"
           "<th scope='col'>Started</th><th scope='col'>Finished</th><th scope='col'>Scorer</th><th scope='col' class='num'>Analysed</th>"
           "<th scope='col' class='num'>Failed</th><th scope='col' class='num'>Skipped</th><th scope='col' class='num'>Inputs refused</th></tr></thead><tbody>"]
    for r in runs:
        out.append(f"<tr><td class='num'>{esc(r['id'])}</td><td>{esc(_when(r['started_at']))}</td><td>{esc(_when(r['finished_at']) if r['finished_at'] else 'not finished')}</td>"
                   f"<td>{esc(r['scorer'])}</td><td class='num'>{esc(r['n_ok'])}</td><td class='num'>{esc(r['n_failed'])}</td><td class='num'>{esc(r['n_skipped'])}</td>"
                   f"<td class='num'>{_n_refused(r)}</td></tr>")
    out.append("</tbody></table></div></details>")
    return "".join(out)


def _counts(items: list[tuple[str, str, int]]) -> str:
    return "<dl class='counts'>" + "".join(f"<div><dt>{label}</dt><dd id='{key}' data-count='{n}'>{n:,}</dd></div>" for key, label, n in items) + "</dl>"


def _framework_section(v: dict, i: int) -> str:
    p = f"fw{i}"
    name = f" ({esc(v['name'])})" if v["name"] else ""
    out = [f"<section class='framework' id='{p}' data-framework='{esc(v['id'])}' aria-labelledby='{p}-h'><h2 id='{p}-h'>Framework {esc(v['id'])}{name}</h2>"]
    out.append(_counts([(f"{p}-n-ok", "Documents analysed", v["n_ok"]), (f"{p}-n-failed", "Failed documents", v["n_failed"]),
                        (f"{p}-n-runs", "Runs", v["n_runs"]), (f"{p}-n-pages", "Pages analysed", v["pages"]),
                        (f"{p}-n-refused", "Inputs refused", v["n_refused"])]))
    out += [f"<p class='note'>{esc(n)}</p>" for n in v["notes"]]
    if not v["n_with_coverage"]:
        out.append(f"<p class='empty' id='{p}-no-results'>No document was analysed successfully for this framework, so there is no coverage to show.</p>")
    else:
        year_chart, stack = _year_chart(v, p)
        out.append(f"<h3 id='{p}-year-h'>Coverage by year</h3><p>For each document, the share of the framework's indicators it evidences; the mean over the documents of each year. "
                   "Years come from file or folder names.</p>")
        out.append(f"<div class='pair'><div>{_legend(tuple(stack))}{year_chart}</div><div>{_year_table(v, p, stack)}</div></div>")
        out.append(f"<h3 id='{p}-inst-h'>Coverage by institution</h3><p>Institutions come from the folder each document sat in.</p>" + _institution_table(v, p))
        chart, rare = _indicator_chart(v, p)
        out.append(f"<h3 id='{p}-ind-h'>Coverage by indicator</h3><p>Share of the {v['n_with_coverage']} documents with {esc(', '.join(STATUS_LABEL[s] for s in v['statuses']))} for each indicator, "
                   "grouped by principle. Least often evidenced: " + ", ".join(esc(l) for l in rare) + ".</p>")
        out.append(_legend(v['statuses']) + chart + _indicator_table(v, p))
    out.append(f"<h3 id='{p}-failed-h'>Failed documents</h3>" + _failed_table(v, p))
    out.append(f"<h3 id='{p}-runs-h'>Runs</h3>" + _runs_table(v, p))
    out.append("</section>")
    return "".join(out)


def _db_label(db: str) -> str:
    """The database as the page names it: a file's name, or a URL without its password."""
    if "://" not in db:
        return Path(db).name
    try:
        from sqlalchemy.engine import make_url

        return make_url(db).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is not shown at all
        return "database"


def render_dashboard(data: dict, db_label: str = "database") -> str:
    """The page, from `summary.archive_data(db, framework)`."""
    views = [framework_view(f, data) for f in data["frameworks"]]
    doc_ids = {a["document_id"] for a in data["analyses"]}
    failed_ids = {a["document_id"] for a in data["analyses"] if a["status"] != "ok"}
    title = f"Archive coverage: {db_label}"
    parts = [f"<header><h1>Archive coverage dashboard</h1><p class='meta'>Database <strong>{esc(db_label)}</strong>"
             + (f", framework{'s' if len(views) > 1 else ''} {', '.join(esc(v['id']) for v in views)}" if views else "")
             + f". Written {dt.datetime.now().strftime('%Y-%m-%d %H:%M')} by <code>nlp-tagger summary --html</code>.</p></header><main>"]
    parts.append("<section id='overview' aria-labelledby='h-overview'><h2 id='h-overview'>Counts</h2>")
    parts.append(_counts([("n-documents", "Documents", len(doc_ids)), ("n-failed", "Failed documents", len(failed_ids)),
                          ("n-runs", "Runs", len(data["runs"])), ("n-frameworks", "Frameworks", len(views))]))
    if not any(v["n_with_coverage"] for v in views):
        parts.append("<p class='empty' id='no-results'>There are no results in this database yet: no document has been analysed successfully. "
                     "Run <code>nlp-tagger batch FOLDER -f FRAMEWORK --db DATABASE</code> first.</p>")
    parts.append("</section>")
    parts += [_framework_section(v, i) for i, v in enumerate(views)]
    parts.append("</main>")
    csp = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<meta http-equiv='Content-Security-Policy' content=\"{csp}\"><title>{esc(title)}</title><style>{CSS}</style></head>"
            f"<body>{''.join(parts)}</body></html>")


def _same(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and os.path.samefile(a, b))
    except OSError:
        return False


def check_output(db: str, out: Path, other_outputs: list[Path | None] = (), option: str = "--html") -> None:
    """Refuse, before any work, an output path that cannot be written or would destroy an input:
    a missing folder, a folder, the SQLite database itself (or its -wal/-shm/-journal files), or
    another output of the same command."""
    from .batch.db import database_url

    out = Path(out)
    if out.is_dir():
        raise NlpTaggerError(out, "is a folder, not a file", f"Give {option} a file name")
    if not out.parent.is_dir():
        raise NlpTaggerError(out, f"folder {out.parent} does not exist", f"Create it first, or choose another {option} path")
    url = database_url(db)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
        for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
            if _same(out, p):
                raise InputError(out, "is the database this summary reads and would be overwritten", f"Choose another {option} path")
    for other in other_outputs:
        if other is not None and _same(out, Path(other)):
            raise NlpTaggerError(out, "is also another output of this command", f"Give {option} a file of its own")


def _refuse_archive_inputs(out: Path, data: dict) -> None:
    """The documents a batch read (their paths as the database records them; a ZIP member's
    archive) are inputs too: the dashboard never replaces one."""
    for a in data["analyses"]:
        path = str(a["path"] or "")
        for candidate in {path, path.split("!", 1)[0]}:
            if candidate and _same(out, Path(candidate)):
                raise InputError(out, "is a document of the archive in this database and would be overwritten", "Choose another --html path")


def write_dashboard(db: str, out: Path, framework: str | None = None, other_outputs: list[Path | None] = ()) -> dict:
    """Read the database and write the page to `out` (atomically: a temporary file in the same
    folder, then renamed). Returns the counts it shows."""
    from .batch.summary import archive_data

    out = Path(out)
    check_output(db, out, other_outputs)
    data = archive_data(db, framework)
    _refuse_archive_inputs(out, data)
    page = render_dashboard(data, _db_label(db))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:
                f.write(page)
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
            os.replace(tmp, out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise NlpTaggerError(out, f"cannot be written ({exc.strerror or exc})", "Choose a writable --html path") from None
    return {"frameworks": data["frameworks"], "documents": len({a["document_id"] for a in data["analyses"]}),
            "failed": sum(a["status"] != "ok" for a in data["analyses"]), "runs": len(data["runs"])}
