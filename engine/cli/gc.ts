import { EngineError } from '../errors.js';
import type { Command } from './command.js';
import { plural } from './text.js';

/** Blobs younger than this are left alone: a second guard beside the holds every writer (import, collect, train, generate) records. */
const DEFAULT_GRACE_MINUTES = 10;

export const gcCommand: Command = {
  name: 'gc',
  args: '[--dry-run] [--grace MINUTES]',
  summary: 'free space: delete stored tensors no catalog row and no running job holds',
  help: `The one place ParamZoo deletes stored blobs (deleting zoos or runs only removes rows). A blob
is deleted when no checkpoint, run or generated model references it and no live process holds
it for an import in progress; temp files of writers that are gone are removed too.
  --dry-run          count what would be freed, delete nothing
  --grace MINUTES    keep blobs written in the last MINUTES (default ${DEFAULT_GRACE_MINUTES})
With --json: {"removed": [sha256...], "bytesFreed", "kept", "tempsRemoved"}.`,
  options: {
    'dry-run': { type: 'boolean' },
    grace: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const grace = ctx.options.grace === undefined ? DEFAULT_GRACE_MINUTES : Number(ctx.options.grace);
    if (!Number.isFinite(grace) || grace < 0) {
      throw new EngineError('bad_option', `--grace must be a number of minutes ≥ 0, not '${String(ctx.options.grace)}'`, { hint: 'e.g. --grace 0' });
    }
    const result = await ctx.service().request('storage.gc', { graceMinutes: grace, dryRun: ctx.options['dry-run'] === true });
    ctx.print(
      { removed: result.blobs, bytesFreed: result.bytesFreed, kept: result.kept, tempsRemoved: result.tempsRemoved },
      () =>
        `${ctx.options['dry-run'] ? 'would remove' : 'removed'} ${plural(result.removed, 'blob')} (${(result.bytesFreed / 1e6).toFixed(1)} MB), kept ${result.kept}, ${plural(result.tempsRemoved, 'stale temp file')} removed`,
    );
  },
};
