"""One self-contained HTML coverage report: no network, no CDN, opens from an email attachment.

It holds a heat map (principles as rows, in-scope indicators as cells, coloured by status; a click
jumps to the evidence), a triage view for assessors, a gap list for writers, each indicator with
links to its passages, and each evidence passage once with every indicator it evidences. A
reviewer accepts or rejects each claim, attaches passages to indicators the tool missed, and
exports the corrections as labelled-corpus JSONL, offline: `nlp-tagger train --gold` learns them.
"""

from __future__ import annotations

import html
import json
import re

from .baselines import tokens
from .coverage import gap_indicators, out_of_scope, quoted_passages
from .report import legend, passage_ids, score_text, scope_text
from .types import Coverage, IndicatorCoverage

MIDDOT = " \u00b7 "
STATUS_LABEL = {"strong": "Strong evidence", "weak": "Weak evidence", "planned": "Planned only", "none": "No evidence"}

CSS = """
:root{--strong:#1b6e3c;--weak:#8a5a00;--planned:#5b3c99;--none:#a4262c;--out:#595959;--ink:#1f1f1f;--muted:#4a4a4a;--line:#c8c8c8}
*{box-sizing:border-box}body{font:15px/1.5 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:var(--ink);margin:0;background:#fff}
header,main{max-width:1100px;margin:0 auto;padding:0 20px}header{padding-top:16px}
h1{font-size:1.6rem;margin:.4em 0}h2{font-size:1.25rem;margin:1.4em 0 .5em;border-bottom:1px solid var(--line)}h3{font-size:1.05rem;margin:.2em 0}
.meta{color:var(--muted)}.note{background:#fff4ce;border-left:4px solid #8a5a00;padding:6px 10px}
.heat{display:grid;grid-template-columns:220px 1fr;gap:6px;align-items:start}.heat .row-label{font-weight:600;padding-top:6px}
.cells{display:flex;flex-wrap:wrap;gap:4px}.cell{display:inline-block;min-width:64px;padding:6px 8px;border-radius:4px;color:#fff;text-decoration:none;font-weight:600;font-size:.85rem;text-align:center}
.cell:focus{outline:3px solid #000;outline-offset:2px}
.s-strong{background:var(--strong)}.s-weak{background:var(--weak)}.s-planned{background:var(--planned)}.s-none{background:var(--none)}.s-out{background:var(--out)}
.passage{border:1px solid var(--line);border-radius:6px;padding:8px 12px;margin:10px 0}.passage h3{font-size:.95rem}
.claims{list-style:none;padding:0;margin:6px 0}.claims li{display:flex;flex-wrap:wrap;gap:8px;align-items:center;margin:3px 0}
button{font:inherit;padding:2px 10px;border:1px solid #555;border-radius:4px;background:#fff;color:#111;cursor:pointer}
button[aria-pressed=true].accept{background:var(--strong);color:#fff}button[aria-pressed=true].reject{background:var(--none);color:#fff}
.added{color:var(--strong);font-weight:600}.review-bar{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:6px 0;z-index:2}
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
@media print{@page{size:A4;margin:15mm}.controls,.review,.review-bar{display:none}body{font-size:11pt}.indicator{break-inside:avoid}a.cell{color:#fff}
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
  reviewLoop();
  document.querySelectorAll('a.cell').forEach(function(a){a.addEventListener('click',function(){
    var target=document.getElementById(a.getAttribute('href').slice(1)); if(target&&target.hidden){target.hidden=false;}
  })});
  apply();
})();
function reviewLoop(){
  var data=JSON.parse(document.getElementById('report-data').textContent);
  var state={};  // passage index -> {rejected:{id:1}, accepted:{id:1}, added:{id:1}}
  function st(i){return state[i]||(state[i]={rejected:{},accepted:{},added:{}});}
  function lines(){
    var out=[];
    Object.keys(state).sort(function(a,b){return a-b}).forEach(function(i){
      var s=state[i],p=data.passages[i],labels=[];
      (data.claims[i]||[]).forEach(function(id){if(!s.rejected[id]&&labels.indexOf(id)<0)labels.push(id)});
      Object.keys(s.added).forEach(function(id){if(labels.indexOf(id)<0)labels.push(id)});
      var row={doc_id:data.document,framework:data.framework,passage:p.text,labels:labels,label_source:'review',page:p.page,section:p.section};
      if(labels.length&&p.type)row.evidence_type=p.type;
      out.push(JSON.stringify(row));
    });
    return out;
  }
  function refresh(){
    var n=lines().length;
    document.getElementById('review-count').textContent=n+(n===1?' passage':' passages')+' reviewed';
    document.getElementById('export').disabled=n===0;
  }
  function press(btn,other,on){btn.setAttribute('aria-pressed',on?'true':'false');if(other)other.setAttribute('aria-pressed','false');}
  document.querySelectorAll('.claims li').forEach(function(li){
    var i=li.dataset.passage,id=li.dataset.indicator,acc=li.querySelector('.accept'),rej=li.querySelector('.reject');
    acc.addEventListener('click',function(){var s=st(i),on=!s.accepted[id];delete s.rejected[id];if(on)s.accepted[id]=1;else delete s.accepted[id];press(acc,rej,on);refresh();});
    rej.addEventListener('click',function(){var s=st(i),on=!s.rejected[id];delete s.accepted[id];if(on)s.rejected[id]=1;else delete s.rejected[id];press(rej,acc,on);refresh();});
  });
  function attach(i,id){
    if(!id)return;
    st(i).added[id]=1;
    var list=document.getElementById('added-'+i);
    if(list&&!list.querySelector('[data-indicator="'+id+'"]')){var li=document.createElement('li');li.className='added';li.dataset.indicator=id;li.textContent='attached: '+id;list.appendChild(li);}
    refresh();
  }
  function wireAttach(b){b.addEventListener('click',function(){
    var sel=document.getElementById('add-'+b.dataset.passage);attach(b.dataset.passage,b.dataset.indicator||(sel&&sel.value));
    if(b.dataset.indicator){b.textContent='Attached to '+b.dataset.indicator;b.disabled=true;}
  })}
  document.querySelectorAll('button.attach').forEach(wireAttach);
  // one list of indicators in a template, copied into a passage's card when asked: a long
  // document's report stays small
  document.querySelectorAll('button.pick').forEach(function(b){b.addEventListener('click',function(){
    var i=b.dataset.passage,frag=document.getElementById('leaf-options').content.cloneNode(true);
    var sel=frag.querySelector('select'),lab=frag.querySelector('label'),go=frag.querySelector('button');
    sel.id='add-'+i;lab.htmlFor='add-'+i;go.dataset.passage=i;wireAttach(go);
    b.parentNode.replaceChild(frag,b);sel.focus();
  })});
  document.getElementById('export').addEventListener('click',function(){
    var text=lines().join('\\n')+'\\n',out=document.getElementById('export-text');
    out.value=text;out.hidden=false;
    var a=document.createElement('a');a.href=URL.createObjectURL(new Blob([text],{type:'application/x-ndjson'}));
    a.download=data.document+'.'+data.framework+'.corrections.jsonl';document.body.appendChild(a);a.click();a.remove();
  });
  refresh();
}
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




def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def _review_data(cov: Coverage) -> str:
    """Passages and the tool's claims as JSON for the review script. '<', '>' and '&' become
    escapes, so no text from the document can close the <script> element."""
    claims: dict[int, list[str]] = {}
    types: dict[int, str] = {}
    for p, evs in quoted_passages(cov):
        claims[p.index] = [e.indicator_id for e in evs]
        types[p.index] = evs[0].evidence_type
    data = {
        "framework": cov.framework.id,
        "document": cov.document.doc_id,
        "passages": {p.index: {"text": p.text, "page": p.page, "section": p.section, "type": types.get(p.index, "")} for p in cov.passages},
        "claims": claims,
    }
    return json.dumps(data, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _leaf_options(cov: Coverage) -> str:
    by_id = cov.by_id()
    return "".join(f"<option value='{_attr(l.id)}'>{html.escape(l.id)} {html.escape(l.title)}</option>"
                   for l in cov.framework.leaves if by_id[l.id].in_scope)


def _passage_card(cov: Coverage, p, evs, pid: str) -> str:
    fmt = cov.document.source_format
    kind = f" \u00b7 {evs[0].evidence_type}" if evs else ""
    out = [f"<article class='passage' id='p-{p.index}' aria-labelledby='ph-{p.index}'><h3 id='ph-{p.index}'>{html.escape(pid)} "
           f"<span class='meta'>{html.escape(p.locator(fmt))}{kind}</span></h3>"
           f"<blockquote>{html.escape(p.text)}</blockquote>"]
    out.append(f"<ul class='claims' aria-label='Indicators {html.escape(pid)} evidences'>")
    for e in evs:
        name = f"{e.indicator_id} ({e.status} {score_text(e.score)})"
        out.append(f"<li data-passage='{p.index}' data-indicator='{_attr(e.indicator_id)}'><a href='#ind-{_attr(e.indicator_id)}'>{html.escape(e.indicator_id)}</a>"
                   f" <span class='meta'>{e.status} {score_text(e.score)}</span>"
                   f"<button type='button' class='accept review' aria-pressed='false' aria-label='Accept {_attr(name)}'>Accept</button>"
                   f"<button type='button' class='reject review' aria-pressed='false' aria-label='Reject {_attr(name)}'>Reject</button></li>")
    out.append(f"</ul><ul class='claims' id='added-{p.index}' aria-label='Indicators attached by the reviewer'></ul>")
    out.append(f"<div class='review'><button type='button' class='pick' data-passage='{p.index}'>Attach to an indicator the tool missed\u2026</button></div></article>")
    return "".join(out)


def render_html(cov: Coverage) -> str:
    fw, doc = cov.framework, cov.document
    by_id = cov.by_id()
    leaves = [l for l in fw.leaves if by_id[l.id].in_scope]
    root_of = {l.id: fw.root_of(l.id) for l in fw.leaves}
    pid = passage_ids(cov)
    fmt = doc.source_format
    parts: list[str] = []
    title = f"Coverage of {doc.doc_id} against {fw.name}"
    parts.append(f"<header><h1>{html.escape(title)}</h1><p class='meta'>{html.escape(doc.path.replace(chr(92), '/').split('/')[-1])}: {doc.n_pages} pages, "
                 f"{cov.n_passages} passages. Scorer <strong>{html.escape(cov.scorer)}</strong> ({html.escape(legend(cov))}).</p>")
    if cov.scope:
        parts.append(f"<p class='meta' id='scope'>{html.escape(scope_text(cov))}</p>")
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
            label = f"{l.id} {l.title}: {STATUS_LABEL[c.status]}"
            parts.append(f"<a class='cell s-{c.status}' data-indicator='{_attr(l.id)}' href='#ind-{_attr(l.id)}' "
                         f"title='{_attr(label)}' aria-label='{_attr(label)}'>{html.escape(l.id)}</a>")
        parts.append("</div>")
    outside = out_of_scope(cov)
    if outside:
        who = ", ".join(sorted({fw.audiences.get(c.indicator.audience, c.indicator.audience) for c in outside}))
        parts.append(f"<div class='row-label'>Out of scope ({html.escape(who)})</div><div class='cells' id='out-of-scope'>")
        parts += [f"<span class='cell s-out' title='{_attr(c.indicator.title)}: not counted, not a gap'>{html.escape(c.indicator.id)}</span>" for c in outside]
        parts.append("</div>")
    parts.append("</div><p class='meta'>Green: strong evidence; amber: weak; purple: planned only (intentions, no results yet); red: none; grey: "
                 "out of scope, never counted as a gap. Select a cell to read its evidence.</p></section>")

    # triage view
    ranked = sorted(leaves, key=lambda l: (-len(by_id[l.id].evidence), -by_id[l.id].score))
    parts.append("<section aria-labelledby='h-triage'><h2 id='h-triage'>Triage for assessors</h2><table id='triage'><caption class='sr-only'>Indicators by amount and strength of evidence</caption>"
                 "<thead><tr><th scope='col'>Indicator</th><th scope='col'>Status</th><th scope='col'>Evidence goes as far as</th><th scope='col'>Best score</th><th scope='col'>Passages</th></tr></thead><tbody>")
    for l in ranked:
        c = by_id[l.id]
        parts.append(f"<tr><td><a href='#ind-{_attr(l.id)}'>{html.escape(l.id)}</a> {html.escape(l.title)}</td><td>{STATUS_LABEL[c.status]}</td>"
                     f"<td>{c.maturity or '-'}</td><td>{score_text(c.score)}</td><td>{len(c.evidence)}</td></tr>")
    parts.append("</tbody></table></section>")

    # gap list: no evidence, planned only or weak; with the nearest passage, whole, to build on
    gaps = gap_indicators(cov) + [by_id[l.id] for l in leaves if by_id[l.id].status in ("planned", "weak")]
    parts.append(f"<section aria-labelledby='h-gaps'><h2 id='h-gaps'>Gaps for writers ({len(gaps)})</h2><ul id='gaps'>")
    for c in gaps:
        l, near = c.indicator, c.nearest
        asks = html.escape(" ".join([l.text, *l.extra[:3]]))
        hint = ""
        if near is not None:
            hint = (f" Nearest passage to build on ({html.escape(near.locator(fmt))}): \u201c{html.escape(near.text)}\u201d "
                    f"<button type='button' class='attach review' data-passage='{near.index}' data-indicator='{_attr(l.id)}'>Attach this passage to {html.escape(l.id)}</button>")
        parts.append(f"<li data-indicator='{_attr(l.id)}'><strong>{html.escape(l.id)} {html.escape(l.title)}</strong> ({STATUS_LABEL[c.status].lower()}). The framework asks: {asks}{hint}</li>")
    parts.append("</ul></section>")

    # indicators with filters
    parts.append("<section aria-labelledby='h-ind'><h2 id='h-ind'>Evidence by indicator</h2><div class='controls' role='search'>")
    parts.append("<label for='f-principle'>Principle<select id='f-principle'><option value=''>All</option>"
                 + "".join(f"<option value='{_attr(r.id)}'>{html.escape(r.id)} {html.escape(r.title)}</option>" for r in fw.roots) + "</select></label>")
    parts.append("<label for='f-status'>Status<select id='f-status'><option value=''>All</option>"
                 + "".join(f"<option value='{k}'>{v}</option>" for k, v in STATUS_LABEL.items()) + "</select></label>")
    parts.append("<label for='f-type'>Evidence type<select id='f-type'><option value=''>All</option><option value='outcome'>Outcome</option><option value='action'>Action</option><option value='plan'>Plan</option><option value='statement'>Statement</option></select></label>")
    parts.append("<label for='f-search'>Search<input id='f-search' type='search' placeholder='words in the indicator or its evidence'></label>")
    parts.append("<p id='shown' class='meta' aria-live='polite'></p></div>")
    for l in leaves:
        c = by_id[l.id]
        terms = _indicator_terms(c)
        types = " ".join(sorted({e.evidence_type for e in c.evidence}))
        parts.append(f"<article class='indicator' id='ind-{_attr(l.id)}' data-principle='{_attr(root_of[l.id])}' data-status='{c.status}' data-types='{types}'>"
                     f"<h3>{html.escape(l.id)} {html.escape(l.title)} <span class='badge s-{c.status}'>{STATUS_LABEL[c.status]}</span> "
                     f"<span class='meta'>score {score_text(c.score)}{MIDDOT + c.maturity if c.maturity else ''}</span></h3>"
                     f"<p class='ind-text'>{html.escape(l.text)}</p>")
        for e in c.evidence:
            p = e.passage
            parts.append(f"<blockquote data-type='{e.evidence_type}'>{_highlight(p.text, terms)}<span class='where'>"
                         f"<a href='#p-{p.index}'>{html.escape(pid.get(p.index, ''))}</a> \u00b7 {html.escape(p.locator(fmt))} \u00b7 {e.status} {score_text(e.score)} \u00b7 {e.evidence_type}</span></blockquote>")
        if not c.evidence:
            parts.append("<p class='meta'>No passage reaches the weak threshold.</p>")
        parts.append("</article>")
    parts.append("</section>")

    # review: each quoted passage once, with its claims; then every other passage, to attach
    parts.append(f"<template id='leaf-options'><label>Attach to an indicator the tool missed </label><select>{_leaf_options(cov)}</select> "
                 "<button type='button' class='attach'>Attach</button></template>")
    parts.append("<section aria-labelledby='h-review'><h2 id='h-review'>Review the evidence</h2>"
                 "<div class='review-bar review'><p class='meta'>Accept or reject each claim, attach passages to indicators the tool missed, then export "
                 "the corrections as JSONL for <code>nlp-tagger train --gold FILE</code> (nothing leaves this page).</p>"
                 "<button type='button' id='export'>Export corrections</button> <span id='review-count' class='meta' aria-live='polite'></span>"
                 "<label for='export-text' class='sr-only'>Exported corrections</label><textarea id='export-text' rows='4' cols='80' readonly hidden></textarea></div>")
    quoted = quoted_passages(cov)
    for p, evs in quoted:
        parts.append(_passage_card(cov, p, evs, pid[p.index]))
    quoted_ids = {p.index for p, _ in quoted}
    rest = [p for p in cov.passages if p.index not in quoted_ids]
    parts.append(f"<details id='other-passages'><summary>Other passages ({len(rest)}): attach one to an indicator</summary>")
    parts += [_passage_card(cov, p, [], f"Passage {p.index + 1}") for p in rest]
    parts.append("</details></section></main>")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{html.escape(title)}</title><style>{CSS}</style><script type='application/json' id='report-data'>{_review_data(cov)}</script></head>"
            f"<body>{''.join(parts)}<script>{JS}</script></body></html>")
