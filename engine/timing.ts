// Wall time: by stage (the `seconds` an evaluation or a demo reports: {collect: s, train: s, …}), and a
// job's remaining time (EtaEstimator).

/** A `timed(stage, work)` that runs `work` and adds its wall time in seconds to `seconds[stage]`. */
export function stageTimer(seconds: Record<string, number>): <T>(stage: string, work: () => Promise<T>) => Promise<T> {
  return async (stage, work) => {
    const started = performance.now();
    const result = await work();
    seconds[stage] = (seconds[stage] ?? 0) + (performance.now() - started) / 1000;
    return result;
  };
}

// A job's remaining time from its progress fraction, at the rate it has advanced since it first
// moved: a run resumed at step 4000 of 6000 starts at 67%, and an estimate from the job's start
// (elapsed × (1 − f) / f) would promise the remaining third in seconds.
export class EtaEstimator {
  private start: number | null = null;
  private base: { fraction: number; at: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Seconds left at `fraction` (0…1): once the job has advanced 1% past its first progress, at the
   * rate since then; before that (a job that reported a share at once and went quiet), as if it had
   * made all of its progress since it started. Null before 1% and half a second.
   */
  estimate(fraction: number): number | null {
    const at = this.now();
    this.start ??= at;
    // The baseline is the first report with any progress: setup before it (loading a zoo, restoring a run) is not a rate.
    if (!this.base || (this.base.fraction === 0 && fraction > 0)) this.base = { fraction, at };
    const advanced = fraction - this.base.fraction;
    const sinceBase = (at - this.base.at) / 1000;
    if (advanced >= 0.01 && sinceBase >= 0.5) return Math.max(0, (sinceBase * (1 - fraction)) / advanced);
    const sinceStart = (at - this.start) / 1000;
    if (fraction < 0.01 || sinceStart < 0.5) return null;
    return Math.max(0, (sinceStart * (1 - fraction)) / fraction);
  }
}
