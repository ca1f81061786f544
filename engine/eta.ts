// A job's remaining time from its progress fraction, at the rate it has advanced since it first
// moved: a run resumed at step 4000 of 6000 starts at 67%, and an estimate from the job's start
// (elapsed × (1 − f) / f) would promise the remaining third in seconds.
export class EtaEstimator {
  private base: { fraction: number; at: number } | null = null;

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds left at `fraction` (0…1), or null until the job has advanced 1% over half a second. */
  estimate(fraction: number): number | null {
    const at = this.now();
    // The baseline is the first report with any progress: setup before it (loading a zoo, restoring a run) is not a rate.
    if (!this.base || (this.base.fraction === 0 && fraction > 0)) this.base = { fraction, at };
    const advanced = fraction - this.base.fraction;
    const elapsed = (at - this.base.at) / 1000;
    if (advanced < 0.01 || elapsed < 0.5) return null;
    return Math.max(0, (elapsed * (1 - fraction)) / advanced);
  }
}
