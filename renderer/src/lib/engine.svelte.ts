// Shared state that outlives a view: the connection, engine info, zoos, runs and jobs. Subscribes
// to engine events once; views read these and call `engine.request` for the rest.
import type { EngineEvent, JobInfo, ResultOf, RunSummary, ZooSummary } from '../../../engine/protocol';
import { connect, EngineRequestError, uploadFrame, type ConnectionState, type Engine } from './transport';

export const engine: Engine = connect();

type Info = ResultOf<'engine.info'>;

export const app = $state({
  connection: 'connecting' as ConnectionState,
  info: null as Info | null,
  zoos: [] as ZooSummary[],
  zoosLoaded: false,
  runs: [] as RunSummary[],
  jobs: [] as JobInfo[],
  /** live loss points per training job id: [step, loss] */
  loss: {} as Record<string, [number, number][]>,
  /** the latest error to show (code, message, hint) */
  error: null as { message: string; hint?: string; code?: string } | null,
});

export function showError(error: unknown): void {
  if (error instanceof EngineRequestError) app.error = { message: error.message, code: error.code, ...(error.hint ? { hint: error.hint } : {}) };
  else app.error = { message: error instanceof Error ? error.message : String(error) };
}

export async function refreshZoos(): Promise<void> {
  try {
    app.zoos = await engine.request('zoo.list', {});
    app.zoosLoaded = true;
  } catch (error) {
    showError(error);
  }
}

export async function refreshRuns(): Promise<void> {
  try {
    app.runs = await engine.request('run.list', {});
  } catch (error) {
    showError(error);
  }
}

export async function refreshJobs(): Promise<void> {
  try {
    const jobs = await engine.request('job.list', {});
    app.jobs = [...jobs].sort((a, b) => String(b.createdAt ?? '').localeCompare(String(a.createdAt ?? '')));
  } catch (error) {
    showError(error);
  }
}

/** Upload folders on the engine by import job: its errors name the files as the user chose them. */
const uploadDirs: Record<string, string> = {};

function upsertJob(job: JobInfo): void {
  const dir = uploadDirs[job.id];
  if (dir && job.error) job = { ...job, error: { ...job.error, message: job.error.message.split(`${dir}/`).join('') } };
  const index = app.jobs.findIndex((j) => j.id === job.id);
  if (index >= 0) app.jobs[index] = { ...app.jobs[index], ...job };
  else app.jobs = [job, ...app.jobs];
}

function onEvent(event: EngineEvent): void {
  if (event.type === 'job.progress' || event.type === 'job.failed') {
    upsertJob(event.job);
    const m = event.job.progress.metrics;
    if (event.job.kind === 'train' && typeof m.step === 'number' && typeof m.loss === 'number') {
      app.loss[event.job.id] ??= [];
      const points = app.loss[event.job.id]!;
      if (points.length === 0 || points[points.length - 1]![0] !== m.step) points.push([m.step, m.loss]);
    }
  } else if (event.type === 'job.finished') {
    upsertJob({ ...event.job, result: event.result });
    void refreshRuns();
  } else if (event.type === 'catalog.changed') {
    if (event.what === 'runs' || event.what === 'models' || event.what === 'evaluations') void refreshRuns();
    void refreshZoos();
  }
}

export function jobById(id: string | null | undefined): JobInfo | undefined {
  return id ? app.jobs.find((j) => j.id === id) : undefined;
}

export function liveJob(kind: JobInfo['kind']): JobInfo | undefined {
  return app.jobs.find((j) => j.kind === kind && (j.status === 'running' || j.status === 'queued'));
}

let started = false;
export function start(): void {
  if (started) return;
  started = true;
  engine.subscribe(onEvent);
  engine.onState((state) => {
    app.connection = state;
    if (state === 'open') {
      void engine.request('engine.info', {}).then((info) => {
        app.info = info;
        // The backend is chosen when the first computing job starts; choose it now to show it.
        if (!info.backend)
          void engine.request('engine.backend', {}).then((backend) => {
            if (app.info) app.info = { ...app.info, backend };
          }, showError);
        // The GPU adapter is looked for in the background: engine.info answered before it was found; once
        // engine.gpu has it, engine.info's forecast (the backend, the adapter, the notes) includes it.
        else if (info.backend.planned && !info.backend.adapter)
          void engine
            .request('engine.gpu', {})
            .then(() => engine.request('engine.info', {}))
            .then((again) => {
              app.info = again;
            }, showError);
      }, showError);
      void refreshZoos();
      void refreshRuns();
      void refreshJobs();
    }
  });
}

/** Browser build: files (with their relative paths) → <data>/uploads on the engine → an import job. */
export async function uploadAndImport(zoo: string, files: { file: File; path: string }[], onProgress?: (sent: number, total: number) => void): Promise<JobInfo> {
  const { upload, maxChunkBytes } = await engine.request('upload.begin', { files: files.map((f) => ({ path: f.path, size: f.file.size })) });
  const total = files.reduce((sum, f) => sum + f.file.size, 0);
  let sent = 0;
  try {
    const room = maxChunkBytes - 512;
    for (const [index, { file }] of files.entries()) {
      for (let offset = 0; offset < file.size; offset += room) {
        const data = await file.slice(offset, Math.min(file.size, offset + room)).arrayBuffer();
        await engine.sendBinary(uploadFrame({ upload, file: index, offset }, data));
        sent += data.byteLength;
        onProgress?.(sent, total);
      }
    }
    const { job, dir } = await engine.request('upload.import', { upload, zoo });
    uploadDirs[job.id] = dir;
    upsertJob(job);
    return job;
  } catch (error) {
    void engine.request('upload.cancel', { upload }).catch(() => undefined);
    throw error;
  }
}

/** Starts a job request and records the job at once (its events follow). */
export async function startJob(run: () => Promise<{ job: JobInfo }>): Promise<JobInfo | null> {
  try {
    const { job } = await run();
    upsertJob(job);
    return job;
  } catch (error) {
    showError(error);
    return null;
  }
}

export async function cancelJob(id: string): Promise<void> {
  try {
    upsertJob(await engine.request('job.cancel', { id }));
  } catch (error) {
    showError(error);
  }
}
