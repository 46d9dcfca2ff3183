import { chartData, formatDuration, type Badge, type ReportData, type Totals } from './report';

// One renderer for the time report: the VS Code webview and `heavy time report --html`.
// Plain HTML, CSS and SVG, no script and no remote content. Colours come from VS Code's
// theme variables, with fallbacks (light, or dark when the browser prefers it) outside it.

export interface RenderOptions {
  /** For the webview: its Content-Security-Policy allows only this nonce's style. */
  nonce?: string;
  title?: string;
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const PALETTE = 8;
const BADGE_TEXT: Record<Badge, string> = {
  verified: 'verified',
  imported: 'imported (not verified)',
  'not witnessed': 'not witnessed',
  failing: 'failing verification',
  empty: 'nothing cemented yet',
};

export function renderReportHtml(report: ReportData, options: RenderOptions = {}): string {
  const nonce = options.nonce ? ` nonce="${esc(options.nonce)}"` : '';
  const csp = `default-src 'none'; img-src data:; style-src ${options.nonce ? `'nonce-${esc(options.nonce)}'` : "'unsafe-inline'"};`;
  const title = options.title ?? 'Time report';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style${nonce}>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<span class="badge badge-${report.badge.replace(' ', '-')}" data-badge="${esc(report.badge)}">${esc(BADGE_TEXT[report.badge])}</span>
</header>
<p class="summary"><strong>${formatDuration(report.cemented)}</strong> cemented${report.uncemented ? `, <strong>${formatDuration(report.uncemented)}</strong> not yet cemented` : ''}${report.verify.problems ? ` · ${report.verify.problems} verify problem(s)` : ''}</p>
<section aria-label="Last ${report.days.length} days">
<h2>Last ${report.days.length} days</h2>
${chart(report)}
${legend(report)}
</section>
<div class="tables">
${table('Per user', report.users)}
${table('Per branch', report.branches, true)}
${daysTable(report)}
</div>
<footer>Generated ${esc(report.generatedAt)} by Heavy Dev</footer>
</body>
</html>
`;
}

function chart(report: ReportData): string {
  const c = chartData(report, 700, 220);
  const pad = { left: 36, bottom: 22, top: 8 };
  const w = c.width + pad.left;
  const h = c.height + pad.bottom + pad.top;
  const hours = c.maxSeconds / 3600;
  const step = Math.max(1, Math.ceil(hours / 4));
  const grid: string[] = [];
  for (let v = 0; v <= hours; v += step) {
    const y = pad.top + c.height - (v / hours) * c.height;
    grid.push(`<line class="grid" x1="${pad.left}" x2="${w}" y1="${y.toFixed(1)}" y2="${y.toFixed(1)}"/><text class="axis" x="${pad.left - 4}" y="${(y + 4).toFixed(1)}" text-anchor="end">${v} h</text>`);
  }
  const every = c.labels.length > 7 ? 2 : 1;
  const labels = c.labels.map((l, i) => (i % every === (c.labels.length - 1) % every
    ? `<text class="axis" x="${(pad.left + l.x).toFixed(1)}" y="${h - 6}" text-anchor="middle">${esc(l.day.slice(5))}</text>` : '')).join('');
  const bars = c.segments.map((s) => `<rect class="bar c${s.color % PALETTE}${s.uncemented ? ' uncemented' : ''}" x="${(pad.left + s.x).toFixed(1)}" y="${(pad.top + s.y).toFixed(1)}" width="${s.width.toFixed(1)}" height="${Math.max(0.5, s.height).toFixed(1)}"><title>${esc(s.day)} ${esc(s.branch)}: ${formatDuration(s.seconds)}${s.uncemented ? ' (not yet cemented)' : ''}</title></rect>`).join('');
  return `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="Time per day, stacked by branch" preserveAspectRatio="xMinYMin meet">${grid.join('')}${bars}${labels}</svg>`;
}

function legend(report: ReportData): string {
  const items = report.branches.map((b, i) => `<li><span class="swatch c${i % PALETTE}"></span>${esc(b.name)}</li>`);
  if (report.uncemented) items.push('<li><span class="swatch uncemented"></span>not yet cemented</li>');
  return items.length ? `<ul class="legend">${items.join('')}</ul>` : '<p class="empty">No time in these days yet.</p>';
}

function table(caption: string, rows: Totals[], swatches = false): string {
  if (!rows.length) return '';
  const body = rows.map((r, i) => `<tr><th scope="row">${swatches ? `<span class="swatch c${i % PALETTE}"></span>` : ''}${esc(r.name)}</th><td>${formatDuration(r.cemented)}</td><td>${r.uncemented ? formatDuration(r.uncemented) : '–'}</td></tr>`).join('');
  return `<table><caption>${esc(caption)}</caption><thead><tr><th></th><th>cemented</th><th>not cemented</th></tr></thead><tbody>${body}</tbody></table>`;
}

function daysTable(report: ReportData): string {
  const rows = report.days.filter((d) => d.total > 0).reverse();
  if (!rows.length) return '';
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  const body = rows.map((d) => `<tr><th scope="row">${esc(d.day)}</th><td>${formatDuration(sum(d.branches))}</td><td>${sum(d.uncemented) ? formatDuration(sum(d.uncemented)) : '–'}</td></tr>`).join('');
  return `<table><caption>Per day</caption><thead><tr><th></th><th>cemented</th><th>not cemented</th></tr></thead><tbody>${body}</tbody></table>`;
}

const STYLE = `
:root { --fg: #1f2328; --bg: #ffffff; --muted: #656d76; --line: #d0d7de; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e;
  --s0: #3794ff; --s1: #388a34; --s2: #cca700; --s3: #e51400; --s4: #652d90; --s5: #d18616; --s6: #1a85b8; --s7: #b180d7; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --bg: #0d1117; --muted: #8d96a0; --line: #30363d; --ok: #3fb950; --warn: #d29922; --bad: #f85149; } }
body { font-family: var(--vscode-font-family, system-ui, sans-serif); font-size: var(--vscode-font-size, 14px);
  color: var(--vscode-foreground, var(--fg)); background: var(--vscode-editor-background, var(--bg)); margin: 0; padding: 12px 16px; max-width: 960px; }
header { display: flex; flex-wrap: wrap; align-items: center; gap: 8px 12px; }
h1 { font-size: 1.4em; margin: 0; font-weight: 600; }
h2 { font-size: 1.05em; margin: 16px 0 6px; font-weight: 600; }
.summary { color: var(--vscode-descriptionForeground, var(--muted)); margin: 6px 0 0; }
.badge { border-radius: 10px; padding: 1px 8px; font-size: 0.85em; border: 1px solid currentColor; white-space: nowrap; }
.badge-verified { color: var(--vscode-testing-iconPassed, var(--ok)); }
.badge-imported, .badge-not-witnessed, .badge-empty { color: var(--vscode-editorWarning-foreground, var(--warn)); }
.badge-failing { color: var(--vscode-errorForeground, var(--bad)); }
.chart { width: 100%; height: auto; max-height: 280px; display: block; }
.grid { stroke: var(--vscode-editorWidget-border, var(--line)); stroke-width: 0.5; }
.axis { fill: var(--vscode-descriptionForeground, var(--muted)); font-size: 11px; }
.c0 { fill: var(--vscode-charts-blue, var(--s0)); background: var(--vscode-charts-blue, var(--s0)); }
.c1 { fill: var(--vscode-charts-green, var(--s1)); background: var(--vscode-charts-green, var(--s1)); }
.c2 { fill: var(--vscode-charts-yellow, var(--s2)); background: var(--vscode-charts-yellow, var(--s2)); }
.c3 { fill: var(--vscode-charts-red, var(--s3)); background: var(--vscode-charts-red, var(--s3)); }
.c4 { fill: var(--vscode-charts-purple, var(--s4)); background: var(--vscode-charts-purple, var(--s4)); }
.c5 { fill: var(--vscode-charts-orange, var(--s5)); background: var(--vscode-charts-orange, var(--s5)); }
.c6 { fill: var(--s6); background: var(--s6); }
.c7 { fill: var(--s7); background: var(--s7); }
.bar.uncemented { fill-opacity: 0.35; stroke: var(--vscode-foreground, var(--fg)); stroke-dasharray: 2 2; stroke-width: 0.8; }
.swatch.uncemented { background: transparent; border: 1px dashed var(--vscode-foreground, var(--fg)); }
body.vscode-high-contrast .bar, body.vscode-high-contrast-light .bar { stroke: var(--vscode-contrastBorder, currentColor); stroke-width: 1; }
.legend { list-style: none; display: flex; flex-wrap: wrap; gap: 4px 14px; padding: 0; margin: 6px 0 0; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 5px; vertical-align: -1px; }
.tables { display: flex; flex-wrap: wrap; gap: 16px 28px; margin-top: 12px; }
table { border-collapse: collapse; min-width: 220px; flex: 1 1 220px; }
caption { text-align: left; font-weight: 600; padding: 4px 0; }
th, td { padding: 3px 8px 3px 0; text-align: left; border-bottom: 1px solid var(--vscode-editorWidget-border, var(--line)); font-weight: normal; }
td { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { color: var(--vscode-descriptionForeground, var(--muted)); font-size: 0.85em; text-align: right; }
th[scope=row] { overflow-wrap: anywhere; }
.empty { color: var(--vscode-descriptionForeground, var(--muted)); }
footer { margin-top: 16px; color: var(--vscode-descriptionForeground, var(--muted)); font-size: 0.8em; }
`;
