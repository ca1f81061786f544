// The engine service as the modules that plug into it see it (service-pipeline.ts, service-app.ts,
// the hosts): an interface, so they need not import service.ts, which imports them to install them.
import type { EngineEvent, JobKind, ParamsOf, RequestName, ResultOf } from './protocol.js';
import type { BlobStore } from './blobs.js';
import type { JobFunction, JobRunner } from './jobs.js';
import type { Compute } from './compute.js';
import type { Catalog } from './catalog/db.js';

export type EventListener = (event: EngineEvent) => void;
export type RequestHandler<N extends RequestName> = (params: ParamsOf<N>) => Promise<ResultOf<N>> | ResultOf<N>;

export interface EngineService {
  readonly dataDir: string;
  readonly blobs: BlobStore;
  readonly jobs: JobRunner;
  /** runs the compute jobs (collect, train, generate, evaluate, demo): in the compute worker, or inline */
  readonly compute: Compute;
  /** the catalog, opened on first use (inspecting a file never touches the data folder) */
  catalog(): Catalog;
  request<N extends RequestName>(method: N, params: ParamsOf<N>): Promise<ResultOf<N>>;
  subscribe(listener: EventListener): () => void;
  emit(event: EngineEvent): void;
  /** adds (or replaces) the handler of a request: how later stages plug in their requests */
  handle<N extends RequestName>(method: N, handler: RequestHandler<N>): void;
  /** registers a job kind and a request that starts it, e.g. handleJob('train', 'train', trainJob) */
  handleJob<N extends RequestName, P>(method: N, kind: JobKind, run: JobFunction<P>): void;
  /** cancels queued and running jobs, waits for them, closes the catalog */
  close(): Promise<void>;
}
