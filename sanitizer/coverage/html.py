"""One self-contained HTML page: inline CSS and JS, no network, sortable, filterable, colour-coded.

Everything interpolated is escaped (column names come from the database and could hold markup); the rows
travel as a JSON island read by a few lines of script, so the page works from a file:// URL and offline.
"""

from __future__ import annotations

import html
import json

from .report import STATUSES, CoverageReport

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d232a;background:#fafbfc}
h1{font-size:22px;margin:0 0 8px}.verdict{font-weight:600;padding:8px 12px;border-radius:6px;display:inline-block}
.verdict.fail{background:#fde2e1;color:#8a1c17}.verdict.pass{background:#dff3e4;color:#17602c}
.totals{display:flex;flex-wrap:wrap;gap:8px;margin:14px 0}.card{background:#fff;border:1px solid #dde1e6;
border-radius:6px;padding:6px 12px;cursor:pointer}.card b{display:block;font-size:20px}
.card.on{outline:2px solid #3a6ea5}
.controls{margin:10px 0;display:flex;gap:8px;align-items:center}input,select{font:inherit;padding:4px 8px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{border-bottom:1px solid #e5e8eb;padding:5px 8px;
text-align:left;vertical-align:top}th{background:#f0f2f4;cursor:pointer;user-select:none;position:sticky;top:0}
th.asc:after{content:" \\25B2"}th.desc:after{content:" \\25BC"}td.ev{color:#57606a;font-size:12px}
tr.s-uncovered td{background:#fde2e1}tr.s-uncovered.fail td:first-child{border-left:4px solid #c9302c}
tr.s-covered td{background:#e6f4ea}tr.s-justified td{background:#fff7d6}tr.s-kept td{background:#fff}
.tierA{color:#8a1c17;font-weight:700}.tierB{color:#a05a00;font-weight:700}.tierC{color:#57606a}.note{color:#57606a}
"""

JS = """
const rows=JSON.parse(document.getElementById('data').textContent);
const cols=JSON.parse(document.getElementById('cols').textContent);
const body=document.querySelector('tbody');let key=null,dir=1,statusFilter='';
const cls={'uncovered PII':'s-uncovered','covered':'s-covered','kept with justification':'s-justified',
'kept (no PII detected)':'s-kept'};
function draw(){const q=document.getElementById('q').value.toLowerCase();
const tier=document.getElementById('tier').value;let list=rows.filter(r=>
(!statusFilter||r._status===statusFilter)&&(!tier||r.tier===tier)&&
(!q||cols.some(c=>String(r[c]).toLowerCase().includes(q))));
if(key)list.sort((a,b)=>String(a[key]).localeCompare(String(b[key]),undefined,{numeric:true})*dir);
body.replaceChildren(...list.map(r=>{const tr=document.createElement('tr');
tr.className=cls[r._status]+(r._failing?' fail':'');for(const c of cols){const td=document.createElement('td');
td.textContent=r[c];if(c==='evidence')td.className='ev';if(c==='tier'&&r.tier)td.className='tier'+r.tier;
tr.appendChild(td)}return tr}));document.getElementById('shown').textContent=list.length+' of '+rows.length+' columns';}
document.querySelectorAll('th').forEach(th=>th.addEventListener('click',()=>{const k=th.dataset.key;
dir=key===k?-dir:1;key=k;document.querySelectorAll('th').forEach(h=>h.className='');
th.className=dir>0?'asc':'desc';draw()}));
document.querySelectorAll('.card[data-status]').forEach(c=>c.addEventListener('click',()=>{
statusFilter=statusFilter===c.dataset.status?'':c.dataset.status;
document.querySelectorAll('.card').forEach(x=>x.classList.toggle('on',x.dataset.status===statusFilter&&!!statusFilter));
draw()}));
document.getElementById('q').addEventListener('input',draw);document.getElementById('tier').addEventListener('change',draw);
draw();
"""


def _json_island(value: object) -> str:
    """JSON safe inside <script>: no '</' or '<!--' can end the block early."""
    return json.dumps(value, ensure_ascii=False).replace("<", "\\u003c").replace(">", "\\u003e")


def render_html(report: CoverageReport, cells: list[dict], columns: tuple[str, ...], verdict: str) -> str:
    esc = html.escape
    totals = report.totals()
    cards = [f'<div class="card"><b>{totals["columns"]}</b>columns in {totals["tables"]} tables</div>',
             f'<div class="card"><b>{totals["pii_columns"]}</b>with PII detected</div>']
    cards += [f'<div class="card" data-status="{esc(s)}"><b>{totals[s]}</b>{esc(s)}</div>' for s in STATUSES]
    head = "".join(f'<th data-key="{esc(c)}">{esc(c)}</th>' for c in columns)
    state = "fail" if report.failing else "pass"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>PII coverage</title><style>{CSS}</style></head>
<body>
<h1>PII coverage</h1>
<div class="verdict {state}">{esc(verdict)}</div>
<p class="note">Detection: {esc(report.mode)}. Rules: {esc(", ".join(report.rules_files))}.
Failing tiers: {esc("/".join(report.fail_tiers))}. No data value appears in this report.</p>
<div class="totals">{"".join(cards)}</div>
<div class="controls"><input id="q" type="search" placeholder="Filter columns, rules, evidence…">
<select id="tier"><option value="">any tier</option><option>A</option><option>B</option><option>C</option></select>
<span id="shown" class="note"></span></div>
<table><thead><tr>{head}</tr></thead><tbody></tbody></table>
<noscript><p>Enable JavaScript to sort and filter; the JSON format holds the same rows.</p></noscript>
<script type="application/json" id="data">{_json_island(cells)}</script>
<script type="application/json" id="cols">{_json_island(list(columns))}</script>
<script>{JS}</script>
</body></html>
"""
