// A second (or third) real process on one data folder, driven by JSON lines on stdin:
//   {"import": {zoo, paths}, "cancelAfterMs"?: n}  → imports (zoo created if missing), cancelled after n ms
//   {"open": DIR, "at": epochMs}                   → opens (creating) the catalog of DIR at that moment
// Each command answers one JSON line on stdout: {"ok": true, ...} or {"ok": false, "code", "message"}.
import { createInterface } from 'node:readline';
import { BlobStore } from '../../engine/blobs.js';
import { openCatalog, type Catalog } from '../../engine/catalog/db.js';
import { importCheckpoints } from '../../engine/pipeline/import.js';
import { createZoo, getZoo } from '../../engine/catalog/zoos.js';
import { CancelledError, EngineError } from '../../engine/errors.js';

const dataDir = process.argv[2]!;
let catalog: Catalog | undefined;
const blobs = new BlobStore(`${dataDir}/blobs`);
let job = 0;

const answer = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
answer({ ready: true, pid: process.pid });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { import?: { zoo: string; paths: string[] }; cancelAfterMs?: number; open?: string; at?: number };
  try {
    if (command.open) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, (command.at ?? 0) - Date.now())));
      openCatalog(command.open).close();
      answer({ ok: true });
      continue;
    }
    catalog ??= openCatalog(dataDir);
    const { zoo, paths } = command.import!;
    try {
      getZoo(catalog.db, zoo);
    } catch {
      createZoo(catalog.db, zoo);
    }
    const controller = new AbortController();
    if (command.cancelAfterMs !== undefined) setTimeout(() => controller.abort(new CancelledError('the import')), command.cancelAfterMs);
    const ctx = {
      jobId: `job_worker_${process.pid}_${job++}`,
      signal: controller.signal,
      progress: () => undefined,
      throwIfCancelled: () => {
        if (controller.signal.aborted) throw controller.signal.reason;
      },
    };
    const result = await importCheckpoints(catalog, blobs, { zoo, paths }, ctx);
    answer({ ok: true, imported: result.imported.length });
  } catch (error) {
    answer({ ok: false, code: error instanceof EngineError ? error.code : 'bug', message: (error as Error).message });
  }
}
catalog?.close();
