// A quality check of a training run (RunCheck) in words, for progress stages, the CLI and the report.
import type { RunCheck } from '../protocol.js';
import { mean } from '../zoo/accuracy.js';

/** One line: the check models' accuracy against the originals', or their weights against the originals' range. */
export function describeCheck(check: RunCheck): string {
  if (check.accuracies && check.originals) {
    const held = check.heldOut;
    return (
      `check: ${check.models} generated models avg ${mean(check.accuracies).toFixed(2)} min ${Math.min(...check.accuracies).toFixed(2)} ` +
      `vs originals avg ${check.originals.avg.toFixed(2)} min ${check.originals.min.toFixed(2)} (check split)${check.withinBar ? ' — within the bar' : ''}` +
      (held
        ? `; ${held.accuracies.length} held-out tasks avg ${mean(held.accuracies).toFixed(2)} worst ${Math.min(...held.accuracies).toFixed(2)} ` +
          `(${held.meetsBar ? 'at or above' : 'below'} the ${held.bar}% bar)`
        : '')
    );
  }
  const w = check.weights!;
  return `check: ${w.outOfRange} of ${w.tensors * check.models} generated tensors outside the originals' range`;
}
