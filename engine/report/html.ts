// The demo's HTML report: one self-contained file (chart.js inlined) that opens offline.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RunCheck } from '../protocol.js';
import type { ZooEvaluation } from '../zoo/evaluate.js';

export interface ReportInput {
  title: string;
  createdAt: string;
  backend: string;
  zoos: ZooEvaluation[];
  /** per zoo: the generator's loss curve as [step, loss] pairs */
  lossCurves: Record<string, [number, number][]>;
  /** per zoo: the generator config, shown verbatim so the run can be rebuilt */
  configs: Record<string, unknown>;
  /** per zoo: the quality checks made while the generator trained (on the check split) */
  checks?: Record<string, RunCheck[]>;
}

let chartSource: string | null = null;
function chartJs(): string {
  // chart.js's exports map hides dist/ files: resolve its entry (dist/chart.cjs) and take the UMD build beside it.
  chartSource ??= readFileSync(join(dirname(createRequire(import.meta.url).resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
  return chartSource;
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** JSON that is safe inside a <script> element. */
const scriptJson = (value: unknown): string => JSON.stringify(value).replace(/</g, '\\u003c');

const fmt = (value: number | null | undefined, digits = 2): string => (value === null || value === undefined ? '—' : value.toFixed(digits));

function summaryRows(zoos: readonly ZooEvaluation[]): string {
  return zoos
    .map(
      (z) => `<tr><th>${escapeHtml(z.zoo)}</th><td>${escapeHtml(z.task)}</td>
<td>${fmt(z.originals.best)}</td><td>${fmt(z.originals.avg)}</td><td>${fmt(z.originals.min)}</td>
<td>${fmt(z.generated.best)}</td><td>${fmt(z.generated.avg)}</td><td>${fmt(z.generated.min)}</td>
<td>${fmt(z.nearestIoU.generated, 3)}</td><td>${fmt(z.nearestIoU.noised, 3)}</td>
<td>${escapeHtml(
        Object.entries(z.seconds)
          .map(([k, s]) => `${k} ${s.toFixed(1)} s`)
          .join(', '),
      )}</td></tr>`,
    )
    .join('\n');
}

/** How generated CNNs got their BatchNorm statistics, in one sentence. */
function batchNormNote(images: number): string {
  return `The generated models' BatchNorm running statistics were measured on ${images.toLocaleString('en-US')} training images (as PyTorch's update_bn), not generated.`;
}

export function renderReport(input: ReportInput): string {
  const sections = input.zoos
    .map(
      (z, i) => `<section>
<h2>${escapeHtml(z.zoo)} <small>${escapeHtml(z.task)}</small></h2>
<p class="verdict ${z.verdict.meetsBar ? 'ok' : 'short'}">${escapeHtml(z.verdict.summary)}</p>
${z.batchNormImages ? `<p>${batchNormNote(z.batchNormImages)}</p>` : ''}
${z.heldOutTasks ? `<p class="verdict ${z.heldOutTasks.meetsBar ? 'ok' : 'short'}" data-testid="held-out-verdict">${escapeHtml(z.heldOutTasks.summary)}</p>` : ''}
<div class="charts">
  <figure><canvas id="acc-${i}"></canvas><figcaption>Accuracy (%) of the originals and the generated models</figcaption></figure>
  <figure><canvas id="iou-${i}"></canvas><figcaption>Accuracy vs similarity to the nearest original (IoU of misclassified test samples), with originals plus Gaussian noise as the baseline</figcaption></figure>
  <figure><canvas id="loss-${i}"></canvas><figcaption>Generator training loss${(input.checks?.[z.zoo] ?? []).some((c) => c.accuracies) ? ", and the accuracy of the models generated at each quality check (check split: training images, never the test split) against the originals' on the same images" : ''}</figcaption></figure>
</div>
<details><summary>Generator config</summary><pre>${escapeHtml(JSON.stringify(input.configs[z.zoo] ?? null, null, 2))}</pre></details>
</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(input.title)}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #1d2430; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: 4px 10px; border-bottom: 1px solid #d8dde6; text-align: right; }
th:first-child, td:nth-child(2) { text-align: left; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 1.5rem; }
figure { margin: 0; } figcaption { color: #5b6472; font-size: 12px; }
small { color: #5b6472; font-weight: normal; }
.verdict { padding: 6px 10px; border-left: 4px solid; } .verdict.ok { border-color: #2f8f5b; } .verdict.short { border-color: #c0392b; }
</style></head>
<body>
<h1>${escapeHtml(input.title)}</h1>
<p>Created ${escapeHtml(input.createdAt)} on the <b>${escapeHtml(input.backend)}</b> backend. Accuracies in percent on each task's test split.</p>
<table>
<thead><tr><th>zoo</th><th>task</th><th>orig best</th><th>orig avg</th><th>orig min</th><th>gen best</th><th>gen avg</th><th>gen min</th><th>nearest IoU gen</th><th>nearest IoU noised</th><th>seconds</th></tr></thead>
<tbody>${summaryRows(input.zoos)}</tbody>
</table>
${sections}
<script>${chartJs()}</script>
<script>
const zoos = ${scriptJson(input.zoos)};
const lossCurves = ${scriptJson(input.lossCurves)};
const checks = ${scriptJson(input.checks ?? {})};
zoos.forEach((z, i) => {
  const d = z.details;
  new Chart(document.getElementById('acc-' + i), {
    type: 'bar',
    data: { labels: ['best', 'average', 'min'], datasets: [
      { label: 'originals', data: [z.originals.best, z.originals.avg, z.originals.min], backgroundColor: '#8aa1c1' },
      { label: 'generated', data: [z.generated.best, z.generated.avg, z.generated.min], backgroundColor: '#e0803a' } ] },
    options: { animation: false, scales: { y: { title: { display: true, text: 'accuracy (%)' } } } },
  });
  const point = (m) => ({ x: m.nearestIoU, y: m.accuracy });
  new Chart(document.getElementById('iou-' + i), {
    type: 'scatter',
    data: { datasets: [
      { label: 'generated', data: d.generated.filter((m) => m.nearestIoU !== null).map(point), backgroundColor: '#e0803a' },
      { label: 'originals + noise', data: d.noise.filter((n) => n.nearestIoU !== null).map((n) => ({ x: n.nearestIoU, y: n.accuracy.avg, level: n.level })), backgroundColor: '#5b6472', pointStyle: 'triangle', radius: 5 } ] },
    options: { animation: false, scales: { x: { title: { display: true, text: 'IoU with nearest original' } }, y: { title: { display: true, text: 'accuracy (%)' } } },
      plugins: { tooltip: { callbacks: { label: (c) => (c.raw.level !== undefined ? 'noise ' + c.raw.level + ': ' : '') + c.raw.y.toFixed(2) + '% at IoU ' + c.raw.x.toFixed(3) } } } },
  });
  const curve = lossCurves[z.zoo] || [];
  const scored = (checks[z.zoo] || []).filter((c) => c.accuracies);
  const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
  const last = scored.length ? scored[scored.length - 1] : null;
  const end = Math.max(curve.length ? curve[curve.length - 1][0] : 0, last ? last.step : 0);
  const accuracy = last ? [
    { label: 'check: generated avg', data: scored.map((c) => ({ x: c.step, y: mean(c.accuracies) })), borderColor: '#1a7f37', yAxisID: 'acc', pointRadius: 3 },
    { label: 'check: generated min', data: scored.map((c) => ({ x: c.step, y: Math.min(...c.accuracies) })), borderColor: '#bf8700', yAxisID: 'acc', pointRadius: 3 },
    { label: 'originals avg (check split)', data: [{ x: 0, y: last.originals.avg }, { x: end, y: last.originals.avg }], borderColor: '#1a7f37', borderDash: [6, 4], yAxisID: 'acc', pointRadius: 0, borderWidth: 1 },
    ...(last.heldOut ? [{ label: 'check: held-out tasks avg (bar ' + last.heldOut.bar + '%)', data: scored.filter((c) => c.heldOut).map((c) => ({ x: c.step, y: mean(c.heldOut.accuracies) })), borderColor: '#8250df', yAxisID: 'acc', pointRadius: 3 }] : []),
  ] : [];
  new Chart(document.getElementById('loss-' + i), {
    type: 'line',
    data: { datasets: [{ label: 'loss', data: curve.map(([x, y]) => ({ x, y })), borderColor: '#2f6db5', pointRadius: 0, borderWidth: 1.5, yAxisID: 'y' }, ...accuracy] },
    options: { animation: false, parsing: false, scales: { x: { type: 'linear', title: { display: true, text: 'step' } }, y: { type: 'logarithmic', title: { display: true, text: 'loss' } },
      ...(last ? { acc: { position: 'right', title: { display: true, text: 'accuracy (%)' }, grid: { drawOnChartArea: false } } } : {}) } },
  });
});
</script>
</body></html>
`;
}
