// Registers the pipeline's job kinds and requests on an engine service (one line in service.ts).
// Their work runs where the service's compute runs (engine/compute.ts: the compute worker by
// default); the catalog.changed events are sent from here, on the engine's thread, once it ended.
import type { EngineService } from './service-types.js';
import type { ComputeKind } from './pipeline/compute-jobs.js';

type Changed = 'zoos' | 'checkpoints' | 'runs' | 'models' | 'evaluations';

/** What each job kind changes, for the catalog.changed event sent when it ends (whatever its outcome). */
const CHANGES: Record<ComputeKind, { what: Changed; zoo: boolean }> = {
  collect: { what: 'checkpoints', zoo: true },
  train: { what: 'runs', zoo: true },
  generate: { what: 'models', zoo: false },
  evaluate: { what: 'evaluations', zoo: false },
  demo: { what: 'zoos', zoo: false },
};

export function installPipeline(service: EngineService): void {
  for (const [kind, { what, zoo }] of Object.entries(CHANGES) as [ComputeKind, (typeof CHANGES)[ComputeKind]][]) {
    service.handleJob(kind, kind, async (params: { zoo?: unknown }, ctx) => {
      try {
        return await service.compute.run(kind, params, ctx);
      } finally {
        const name = zoo && typeof params?.zoo === 'string' ? params.zoo : undefined;
        service.emit({ type: 'catalog.changed', what, ...(name ? { zoo: name } : {}) });
      }
    });
  }
}
