// Wall time by stage: the `seconds` an evaluation or a demo reports ({collect: s, train: s, …}).

/** A `timed(stage, work)` that runs `work` and adds its wall time in seconds to `seconds[stage]`. */
export function stageTimer(seconds: Record<string, number>): <T>(stage: string, work: () => Promise<T>) => Promise<T> {
  return async (stage, work) => {
    const started = performance.now();
    const result = await work();
    seconds[stage] = (seconds[stage] ?? 0) + (performance.now() - started) / 1000;
    return result;
  };
}
