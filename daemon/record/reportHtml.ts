import type { ReplaySummary } from './report';

// heavy replay --html: one self-contained page (inline SVG, no scripts or network) with
// latency over time, throughput and the per-endpoint table.

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }[c]!));

function lineChart(title: string, series: { name: string; color: string; values: number[] }[], unit: string, span: string): string {
  const w = 640;
  const h = 200;
  const pad = 40;
  const n = Math.max(1, ...series.map((s) => s.values.length));
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const x = (i: number) => pad + (n === 1 ? (w - 2 * pad) / 2 : (i * (w - 2 * pad)) / (n - 1));
  const y = (v: number) => h - pad + 10 - (v / max) * (h - 2 * pad);
  const paths = series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"/>`
    + s.values.map((v, i) => `<circle cx="${x(i).toFixed(1)}" cy="${y(v).toFixed(1)}" r="3" fill="${s.color}"/>`).join('')).join('');
  // The legend sits top right, clear of the axis' maximum at the top left.
  const legend = series.map((s, i) => `<text x="${w - pad - (series.length - i) * 80 + 10}" y="16" fill="${s.color}">${esc(s.name)}</text>`).join('');
  return `<figure><figcaption>${esc(title)}</figcaption><svg class="chart" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(title)}">
<line x1="${pad}" y1="${h - pad + 10}" x2="${w - pad}" y2="${h - pad + 10}" stroke="#999"/><line x1="${pad}" y1="20" x2="${pad}" y2="${h - pad + 10}" stroke="#999"/>
<text x="2" y="30">${max.toFixed(1)} ${unit}</text><text x="${pad}" y="${h - 8}">0 s</text><text x="${w - pad}" y="${h - 8}" text-anchor="end">${esc(span)}</text>${legend}${paths}</svg></figure>`;
}

export interface ReplayHtmlOptions {
  /** For a webview: its Content-Security-Policy then allows only this nonce's style. */
  nonce?: string;
}

// The colours follow VS Code's theme inside a webview (its --vscode-* variables) and fall back
// to dark on white in a browser.
const STYLE = 'body{font:14px system-ui,sans-serif;margin:2em;color:var(--vscode-editor-foreground,#222);background:var(--vscode-editor-background,#fff)}'
  + 'svg text:not([fill]){fill:var(--vscode-editor-foreground,#222)}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}'
  + 'td:first-child,th:first-child{text-align:left}figure{margin:1em 0}';

export function replayHtml(s: ReplaySummary, title: string, options: ReplayHtmlOptions = {}): string {
  const nonce = options.nonce ? ` nonce="${esc(options.nonce)}"` : '';
  const csp = `default-src 'none'; img-src data:; style-src ${options.nonce ? `'nonce-${esc(options.nonce)}'` : "'unsafe-inline'"};`;
  const t = s.timeline.length ? s.timeline : [{ at: 0, requests: s.requests, ...s.latency }];
  const span = `${s.durationSeconds.toFixed(1)} s`;
  // Status codes per route, and which of them were not the recorded answer's class.
  const codes = (e: ReplaySummary['endpoints'][number]) => [
    ...Object.entries(e.codes ?? {}).map(([c, n]) => `${c} ×${n}${e.unexpected?.[c] ? ` (${e.unexpected[c]} not as recorded)` : ''}`),
  ].join(', ');
  const rows = s.endpoints.map((e) => `<tr><td>${esc(e.endpoint)}</td><td>${e.requests}</td><td>${e.errors}</td><td>${esc(codes(e))}</td><td>${e.p50}</td><td>${e.p95}</td><td>${e.p99}</td></tr>`).join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>${esc(title)}</title>
<meta http-equiv="Content-Security-Policy" content="${csp}">
<style${nonce}>${STYLE}</style></head><body>
<h1>${esc(title)}</h1>
<p>${s.requests} requests in ${s.durationSeconds.toFixed(1)} s (${s.throughput.toFixed(1)}/s), ${s.errors} errors (${(s.errorRate * 100).toFixed(2)}%); latency p50 ${s.latency.p50} ms, p95 ${s.latency.p95} ms, p99 ${s.latency.p99} ms</p>
${lineChart('Latency over time', [{ name: 'p50', color: '#2a7', values: t.map((p) => p.p50) }, { name: 'p95', color: '#e90', values: t.map((p) => p.p95) }, { name: 'p99', color: '#d33', values: t.map((p) => p.p99) }], 'ms', span)}
${lineChart('Throughput (requests per period)', [{ name: 'requests', color: '#36c', values: t.map((p) => p.requests) }], 'req', span)}
<table><thead><tr><th>endpoint</th><th>requests</th><th>errors</th><th>status</th><th>p50 ms</th><th>p95 ms</th><th>p99 ms</th></tr></thead><tbody>${rows}</tbody></table>
</body></html>
`;
}
