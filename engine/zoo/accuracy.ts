// Accuracy best / average / minimum over a set of models: what collect reports, evaluation
// compares and the verdict judges.

export interface AccuracySummary {
  /** percent; null when there is no model */
  best: number | null;
  avg: number | null;
  min: number | null;
}

/** The arithmetic mean; NaN for none. */
export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

export function summarize(values: readonly number[]): AccuracySummary {
  if (values.length === 0) return { best: null, avg: null, min: null };
  return { best: Math.max(...values), avg: mean(values), min: Math.min(...values) };
}

/** The middle value (the mean of the two middle ones for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
