import type { ZooEvaluationInfo } from '../protocol.js';
import type { ZooEvaluation } from '../zoo/evaluate.js';

const pct = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toFixed(2));
const iou = (value: number | null | undefined): string => (value === null || value === undefined ? '—' : value.toFixed(3));

function pad(cells: string[], widths: number[]): string {
  return cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
}

/** The terminal summary of an evaluation (an evaluate or demo job's result): one row per zoo, accuracies in percent. */
export function evaluationTable(zoos: readonly ZooEvaluationInfo[]): string {
  const header = ['zoo', 'orig best', 'orig avg', 'orig min', 'gen best', 'gen avg', 'gen min', 'IoU gen', 'IoU noised'];
  const rows = zoos.map((z) => [
    `${z.zoo} (${z.task})`,
    pct(z.originals.best),
    pct(z.originals.avg),
    pct(z.originals.min),
    pct(z.generated.best),
    pct(z.generated.avg),
    pct(z.generated.min),
    iou(z.nearestIoU.generated),
    iou(z.nearestIoU.noised),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [pad(header, widths), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => pad(r, widths))];
  for (const z of zoos) {
    if (z.verdict) lines.push(`${z.zoo}: ${z.verdict.summary}`);
    const stages = Object.entries(z.seconds)
      .map(([stage, s]) => `${stage} ${s.toFixed(1)} s`)
      .join(', ');
    if (stages) lines.push(`${z.zoo}: ${stages}`);
    if (z.heldOutTasks) lines.push(`${z.zoo}: ${z.heldOutTasks.summary}`);
    for (const held of (z.details as Partial<ZooEvaluation['details']> | undefined)?.heldOut ?? []) {
      lines.push(`  held-out task ${held.condition.join('')}: originals avg ${pct(held.originals.avg)}, generated avg ${pct(held.generated.avg)}`);
    }
  }
  return lines.join('\n');
}
