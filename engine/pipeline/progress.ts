// Maps a part of a job (collect inside demo, generate inside evaluate) onto a slice of the job's
// progress, so one bar runs from 0 to 1 over all parts.
import type { JobContext, ProgressUpdate } from '../jobs.js';

export function subContext(ctx: JobContext, from: number, to: number, prefix = ''): JobContext {
  return {
    ...ctx,
    progress(update: ProgressUpdate) {
      ctx.progress({
        ...update,
        ...(update.fraction !== undefined ? { fraction: from + (to - from) * update.fraction } : {}),
        ...(update.stage !== undefined ? { stage: `${prefix}${update.stage}` } : {}),
      });
    },
  };
}
