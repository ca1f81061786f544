// Accuracy best / average / minimum over a set of models: what collect reports, evaluation
// compares and the verdict judges.

export interface AccuracySummary {
  /** percent; null when there is no model */
  best: number | null;
  avg: number | null;
  min: number | null;
}

export function summarize(values: readonly number[]): AccuracySummary {
  if (values.length === 0) return { best: null, avg: null, min: null };
  return {
    best: Math.max(...values),
    avg: values.reduce((a, b) => a + b, 0) / values.length,
    min: Math.min(...values),
  };
}
