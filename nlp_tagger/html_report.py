"""One self-contained HTML coverage report: no network, no CDN, opens from an email attachment.

It holds a heat map (principles as rows, indicators as cells, coloured by strength; a click jumps
to the evidence), each indicator's evidence with matched terms highlighted, a gap list for writers,
a triage view for assessors, filters and a text search, and print styles for A4.
"""

from __future__ import annotations

import html
import json
import re

from .baselines import tokens
from .types import Coverage, IndicatorCoverage

STATUS_LABEL = {"strong": "Strong evidence", "weak": "Weak evidence", "none": "No evidence"}

CSS = """
:root{--strong:#1b6e3c;--weak:#8a5a00;--none:#a4262c;--ink:#1f1f1f;--muted:#4a4a4a;--line:#c8c8c8}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
header,main{max-width:1100px;margin:0 auto;padding:0 20px}header{padding-top:16px}
h1{font-size:1.6rem;margin:.4em 0}h2{font-size:1.25rem;margin:1.4em 0 .5em;border-bottom:1px solid var(--line)}h3{font-size:1.05rem;margin:.2em 0}
.meta{color:var(--muted)}.note{background:#fff4ce;border-left:4px solid #8a5a00;padding:6px 10px}
.heat{display:grid;grid-template-columns:220px 1fr;gap:6px;align-items:start}.heat .row-label{font-weight:600;padding-top:6px}
.cells{display:flex;flex-wrap:wrap;gap:4px}.cell{display:inline-block;min-width:64px;padding:6px 8px;border-radius:4px;color:#fff;text-decoration:none;font-weight:600;font-size:.85rem;text-align:center}
.cell:focus{outline:3px solid #000;outline-offset:2px}
.s-strong{background:var(--strong)}.s-weak{background:var(--weak)}.s-none{background:var(--none)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;color:#fff;font-size:.8rem;font-weight:600}
.controls{display:flex;flex-wrap:wrap;gap:14px;align-items:end;margin:10px 0;padding:10px;border:1px solid var(--line);border-radius:6px}
.controls label{display:flex;flex-direction:column;font-size:.85rem;font-weight:600}
select,input{font:inherit;padding:4px 6px;border:1px solid #767676;border-radius:4px}
.indicator{border:1px solid var(--line);border-radius:6px;padding:10px 14px;margin:10px 0}
.indicator[hidden]{display:none}.ind-text{color:var(--muted);font-size:.9rem}
blockquote{margin:8px 0;padding:6px 12px;border-left:4px solid var(--line);background:#f7f7f7}
blockquote .where{display:block;font-size:.85rem;color:var(--muted)}mark{background:#ffe16b;color:#000}
table{border-collapse:collapse;width:100%}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:#f0f0f0}
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
@media print{@page{size:A4;margin:15mm}.controls{display:none}body{font-size:11pt}.indicator{break-inside:avoid}a.cell{color:#fff}
 .indicator[hidden]{display:block}}
"""

JS = """
(function(){
  var items=[].slice.call(document.querySelectorAll('.indicator'));
  var fP=document.getElementById('f-principle'),fS=document.getElementById('f-status'),fT=document.getElementById('f-type'),q=document.getElementById('f-search');
  function apply(){
    var p=fP.value,s=fS.value,t=fT.value,text=q.value.trim().toLowerCase(),shown=0;
    items.forEach(function(el){
      var ok=(!p||el.dataset.principle===p)&&(!s||el.dataset.status===s)&&(!t||(' '+el.dataset.types+' ').indexOf(' '+t+' ')>=0)&&(!text||el.textContent.toLowerCase().indexOf(text)>=0);
      el.hidden=!ok; if(ok) shown++;
    });
    document.getElementById('shown').textContent=shown+' of '+items.length+' indicators shown';
  }
  [fP,fS,fT].forEach(function(e){e.addEventListener('change',apply)}); q.addEventListener('input',apply);
  document.querySelectorAll('a.cell').forEach(function(a){a.addEventListener('click',function(){
    var target=document.getElementById(a.getAttribute('href').slice(1)); if(target&&target.hidden){target.hidden=false;}
  })});
  apply();
})();
"""


def _highlight(text: str, terms: set[str]) -> str:
    """Escape the passage and mark the words it shares with the indicator."""
    out = []
    for piece in re.split(r"(\W+)", text):
        esc = html.escape(piece)
        out.append(f"<mark>{esc}</mark>" if piece and piece.lower() in terms else esc)
    return "".join(out)


def _indicator_terms(c: IndicatorCoverage) -> set[str]:
    return {t for t in tokens(" ".join([c.indicator.title, c.indicator.text, *c.indicator.extra])) if len(t) > 3}


def render_html(cov: Coverage) -> str:
    fw, doc = cov.framework, cov.document
    by_id = cov.by_id()
    leaves = [l for l in fw.leaves]
    root_of = {l.id: fw.root_of(l.id) for l in leaves}
    parts: list[str] = []
    title = f"Coverage of {doc.doc_id} against {fw.name}"
    parts.append(f"<header><h1>{html.escape(title)}</h1><p class='meta'>{html.escape(doc.path.split('/')[-1])}: {doc.n_pages} pages, "
                 f"{cov.n_passages} passages. Scorer <strong>{html.escape(cov.scorer)}</strong> (strong \u2265 {cov.thresholds['strong']:.2f}, "
                 f"weak \u2265 {cov.thresholds['weak']:.2f}).</p>")
    for n in cov.notes:
        parts.append(f"<p class='note'>{html.escape(n)}</p>")
    parts.append("</header><main>")

    # heat map
    parts.append("<section aria-labelledby='h-heat'><h2 id='h-heat'>Coverage map</h2><div class='heat' id='heatmap'>")
    for root in fw.roots:
        rl = [l for l in leaves if root_of[l.id] == root.id]
        parts.append(f"<div class='row-label'>{html.escape(root.id)} {html.escape(root.title)}</div><div class='cells'>")
        for l in rl:
            c = by_id[l.id]
            parts.append(f"<a class='cell s-{c.status}' data-indicator='{html.escape(l.id)}' href='#ind-{html.escape(l.id)}' "
                         f"title='{html.escape(l.title)}: {STATUS_LABEL[c.status]}' aria-label='{html.escape(l.id)} {html.escape(l.title)}: {STATUS_LABEL[c.status]}'>{html.escape(l.id)}</a>")
        parts.append("</div>")
    parts.append("</div><p class='meta'>Green: strong evidence; amber: weak; red: none. Select a cell to read its evidence.</p></section>")

    # triage view
    ranked = sorted(leaves, key=lambda l: (-len(by_id[l.id].evidence), -by_id[l.id].score))
    parts.append("<section aria-labelledby='h-triage'><h2 id='h-triage'>Triage for assessors</h2><table id='triage'><caption class='sr-only'>Indicators by amount and strength of evidence</caption>"
                 "<thead><tr><th scope='col'>Indicator</th><th scope='col'>Status</th><th scope='col'>Best score</th><th scope='col'>Passages</th><th scope='col'>Evidence types</th></tr></thead><tbody>")
    for l in ranked:
        c = by_id[l.id]
        types = ", ".join(sorted({e.evidence_type for e in c.evidence})) or "-"
        parts.append(f"<tr><td><a href='#ind-{html.escape(l.id)}'>{html.escape(l.id)}</a> {html.escape(l.title)}</td><td>{c.status}</td><td>{c.score:.2f}</td><td>{len(c.evidence)}</td><td>{types}</td></tr>")
    parts.append("</tbody></table></section>")

    # gap list
    gaps = [l for l in leaves if by_id[l.id].status != "strong"]
    parts.append(f"<section aria-labelledby='h-gaps'><h2 id='h-gaps'>Gaps for writers ({len(gaps)})</h2><ul id='gaps'>")
    for l in gaps:
        near = by_id[l.id].nearest
        hint = f" Nearest passage to build on (p. {near.page}): \u201c{html.escape(near.text[:220])}\u201d" if near else ""
        asks = html.escape(" ".join([l.text, *l.extra])[:400])
        parts.append(f"<li><strong>{html.escape(l.id)} {html.escape(l.title)}</strong> ({STATUS_LABEL[by_id[l.id].status].lower()}). The framework asks: {asks}.{hint}</li>")
    parts.append("</ul></section>")

    # indicators with filters
    parts.append("<section aria-labelledby='h-ind'><h2 id='h-ind'>Evidence by indicator</h2><div class='controls' role='search'>")
    parts.append("<label for='f-principle'>Principle<select id='f-principle'><option value=''>All</option>"
                 + "".join(f"<option value='{html.escape(r.id)}'>{html.escape(r.id)} {html.escape(r.title)}</option>" for r in fw.roots) + "</select></label>")
    parts.append("<label for='f-status'>Status<select id='f-status'><option value=''>All</option><option value='strong'>Strong</option><option value='weak'>Weak</option><option value='none'>None</option></select></label>")
    parts.append("<label for='f-type'>Evidence type<select id='f-type'><option value=''>All</option><option value='outcome'>Outcome</option><option value='action'>Action</option><option value='plan'>Plan</option><option value='statement'>Statement</option></select></label>")
    parts.append("<label for='f-search'>Search<input id='f-search' type='search' placeholder='words in the indicator or its evidence'></label>")
    parts.append("<p id='shown' class='meta' aria-live='polite'></p></div>")
    for l in leaves:
        c = by_id[l.id]
        terms = _indicator_terms(c)
        types = " ".join(sorted({e.evidence_type for e in c.evidence}))
        parts.append(f"<article class='indicator' id='ind-{html.escape(l.id)}' data-principle='{html.escape(root_of[l.id])}' data-status='{c.status}' data-types='{types}'>"
                     f"<h3>{html.escape(l.id)} {html.escape(l.title)} <span class='badge s-{c.status}'>{STATUS_LABEL[c.status]}</span> <span class='meta'>score {c.score:.2f}</span></h3>"
                     f"<p class='ind-text'>{html.escape(l.text)}</p>")
        for e in c.evidence:
            where = f"p. {e.passage.page}" + (f", {html.escape(e.passage.section)}" if e.passage.section else "")
            parts.append(f"<blockquote data-type='{e.evidence_type}'>{_highlight(e.passage.text, terms)}<span class='where'>{where} \u00b7 score {e.score:.2f} \u00b7 {e.evidence_type}</span></blockquote>")
        if not c.evidence:
            parts.append("<p class='meta'>No passage reaches the weak threshold.</p>")
        parts.append("</article>")
    parts.append("</section></main>")
    # JSON inside <script>: '<', '>' and '&' as escapes, so no id or name can close the element
    data = json.dumps({"framework": fw.id, "document": doc.doc_id}).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style><script type='application/json' id='report-data'>{data}</script></head>"
            f"<body>{''.join(parts)}<script>{JS}</script></body></html>")
