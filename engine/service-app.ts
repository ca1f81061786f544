// The requests the app's views need beyond the CLI's (engine/protocol.ts, second part): runs,
// generated models, evaluations, zoo edits, the generator settings the Train form is drawn from,
// uploads (browser build) and one-time downloads. One line in service.ts installs them.
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, join, relative, isAbsolute, dirname, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ZooUsage, ResultOf, TensorStats, CheckpointFormat, ExportResult, GeneratorSettings, ImportResult, Id, JobInfo, SettingField, TaskInfo } from './protocol.js';
import { EngineError } from './errors.js';
import type { EngineService } from './service-types.js';
import { runDetail, runSummaries } from './catalog/runs.js';
import { generatedModels } from './catalog/generated-models.js';
import { evaluation, evaluations } from './catalog/evaluations.js';
import { deleteCheckpoints, deleteRun, deleteZoo, renameZoo } from './catalog/edits.js';
import { getJob, stripJobErrorPrefix } from './catalog/jobs.js';
import { getZoo, parameterCount } from './catalog/zoos.js';
import { countCheckpoints, listCheckpoints, setCheckpointSource, zooBlobs } from './catalog/checkpoints.js';
import { estimateTraining } from './pipeline/estimate.js';
import { heldOutCheckModelCount } from './pipeline/quality-check.js';
import { tokenCountFor } from './rpg/cost.js';
import { planBackend } from './backend.js';
import { probeWebgpu } from './backend/webgpu.js';
import { readBlobTensors } from './pipeline/stored.js';
import { collectGarbage } from './catalog/gc.js';
import { toFloat64Array } from './tensors.js';
import { resolveModel } from './catalog/models.js';
import { writesFolder } from './formats/index.js';
import { removeDeadProcessFolders, UploadArea } from './uploads.js';
import { getTask, listTaskIds } from './zoo/tasks/registry.js';
import { DEFAULT_CONFIG, PRESETS, presetFor, resolveConfig } from './rpg/presets.js';

interface AppState {
  /** zoo.stats results by zoo name and the blobs they were computed from */
  stats: Map<string, { key: string; result: unknown }>;
  uploads: UploadArea;
  /** [step, loss] of running training jobs since this process started them: a reloaded page gets the steps since the last save */
  liveLoss: Map<Id, [number, number][]>;
  /** ticket → file, one use each, for a short while */
  tickets: Map<string, { path: string; name: string; expires: number }>;
}

const states = new WeakMap<EngineService, AppState>();
const TICKET_LIFETIME_MS = 5 * 60_000;

function stateOf(service: EngineService): AppState {
  let state = states.get(service);
  if (!state) {
    const liveLoss = new Map<Id, [number, number][]>();
    state = { uploads: new UploadArea(join(service.dataDir, 'uploads')), tickets: new Map(), liveLoss, stats: new Map() };
    states.set(service, state);
    service.subscribe((event) => {
      if (event.type === 'job.progress' && event.job.kind === 'train') {
        const { step, loss } = event.job.progress.metrics;
        if (typeof step !== 'number' || typeof loss !== 'number') return;
        const points = liveLoss.get(event.job.id) ?? [];
        if (points.length === 0 || points[points.length - 1]![0] !== step) points.push([step, loss]);
        liveLoss.set(event.job.id, points);
      } else if ((event.type === 'job.finished' || event.type === 'job.failed') && event.job.kind === 'train') {
        liveLoss.delete(event.job.id);
      }
    });
  }
  return state;
}

/** A host that accepts uploads and serves downloads calls this at start: leftovers of dead engines go. */
export function prepareTransfers(service: EngineService): void {
  stateOf(service).uploads.cleanLeftovers();
  removeDeadProcessFolders(join(service.dataDir, 'downloads'));
}

/** A binary frame from a transport that carries them (the WebSocket host). */
export function receiveUploadChunk(service: EngineService, frame: Buffer): void {
  stateOf(service).uploads.chunk(frame);
}

/** The file of a one-time download ticket, or null (unknown, used or expired). */
export function redeemDownloadTicket(service: EngineService, ticket: string): { path: string; name: string } | null {
  const { tickets } = stateOf(service);
  const entry = tickets.get(ticket);
  tickets.delete(ticket);
  if (!entry || entry.expires < Date.now() || !existsSync(entry.path)) return null;
  return entry;
}

/** Removes a downloaded file's folder once it was sent. */
export function downloadSent(service: EngineService, path: string): void {
  const root = join(service.dataDir, 'downloads');
  const folder = dirname(path);
  if (isInside(root, folder) && folder !== root) rmSync(folder, { recursive: true, force: true });
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}

const FIELD_HELP: Record<string, [group: string, help: string, min?: number, max?: number]> = {
  tokenSize: ['model', 'values per token: tensors are cut into tokens of this size', 1, 65536],
  recurrent: ['model', 'the recurrent model over the token sequence'],
  recurrentWidth: ['model', 'width D of the recurrent model and the prototypes (multiple of 4)', 4, 8192],
  recurrentLayers: ['model', 'recurrent layers', 1, 16],
  lstmResidual: ['model', 'LSTM only: the older pre-norm residual form (learns slower) instead of a torch.nn.LSTM-style stack'],
  dState: ['model', 'Mamba state size (other kinds ignore it)', 1, 1024],
  denoiserChannels: ['model', 'hidden channels of the 1-D conv denoiser, comma separated'],
  kernelSize: ['model', 'denoiser kernel size (odd)', 1, 63],
  denoiserNorm: ['model', 'norm after each hidden conv'],
  timeFeatures: ['model', 'sinusoidal time features (even)', 2, 4096],
  timeHidden: ['model', 'hidden width of the time MLP; 0 = token size', 0, 65536],
  conditionRank: ['model', 'rank of the prototype projection; 0 = full', 0, 65536],
  taskTokens: ['model', 'task-conditioned zoos: the task reaches only the last this many tokens (the reference); 0 = every token', 0, 65536],
  timesteps: ['diffusion', 'diffusion steps T', 1, 10000],
  betaStart: ['diffusion', 'first β of the linear schedule', 0, 1],
  betaEnd: ['diffusion', 'last β of the linear schedule', 0, 1],
  diffusionBatch: ['training', 'tokens denoised per step, each with its own t', 1, 65536],
  batch: ['training', 'checkpoints per training step', 1, 4096],
  steps: ['training', 'training steps', 1, 10_000_000],
  lr: ['training', 'learning rate (AdamW)', 0, 1],
  weightDecay: ['training', 'AdamW weight decay', 0, 1],
  warmupSteps: ['training', 'linear warm-up steps', 0, 10_000_000],
  clipNorm: ['training', 'global gradient-norm clip', 0, 1e6],
  seed: ['training', 'seed of initialisation and noise', 0, 2 ** 31 - 1],
  saveEvery: ['training', 'steps between saved states (the end is always saved)', 1, 10_000_000],
  checkEvery: ['training', 'steps between quality checks (a few models generated and scored); 0 = none', 0, 10_000_000],
  checkModels: ['training', 'models generated per quality check', 1, 20],
  stopEarly: ['training', 'stop at the first check whose models are all within the bar'],
  sampler: ['sampling', 'sampler used by generate by default'],
  samplerSteps: ['sampling', 'sampler steps (≤ timesteps)', 1, 10000],
  eta: ['sampling', 'DDIM noise scale', 0, 10],
  clipDenoised: ['sampling', 'DDIM clip of x̂0 relative to the largest token value; 0 = none', 0, 100],
  inferenceMode: ['sampling', 'how tokens are generated: one by one, in chunks, or all at once'],
  chunkTokens: ['sampling', "tokens per chunk in 'partial' mode", 1, 1_000_000],
};
const CHOICES: Record<string, string[]> = {
  recurrent: ['lstm', 'mamba', 'transformer'],
  denoiserNorm: ['batch', 'channel', 'none'],
  sampler: ['ddim', 'ddpm'],
  inferenceMode: ['sequential', 'partial', 'full'],
};

export function generatorSettings(): GeneratorSettings {
  const fields: SettingField[] = [];
  for (const [name, value] of Object.entries(DEFAULT_CONFIG)) {
    if (name === 'preset') continue;
    const [group, help, min, max] = FIELD_HELP[name] ?? ['other', name];
    const type: SettingField['type'] =
      typeof value === 'boolean'
        ? 'boolean'
        : CHOICES[name]
          ? 'choice'
          : Array.isArray(value)
            ? 'integer-list'
            : Number.isInteger(value) && !['lr', 'betaStart', 'betaEnd', 'weightDecay', 'eta', 'clipDenoised', 'clipNorm'].includes(name)
              ? 'integer'
              : 'number';
    fields.push({ name, type, group, help, default: value, ...(min !== undefined ? { min } : {}), ...(max !== undefined ? { max } : {}), ...(CHOICES[name] ? { choices: CHOICES[name] } : {}) });
  }
  return {
    fields,
    defaults: { ...DEFAULT_CONFIG },
    presets: Object.keys(PRESETS).map((name) => ({ name, config: { ...resolveConfig({ preset: name }) } })),
    presetForParameters: [50_000, 2_000_000, 20_000_000, Infinity].map((below) => ({ below: Number.isFinite(below) ? below : Number.MAX_SAFE_INTEGER, preset: presetFor(below - 1) })),
  };
}

function taskInfo(id: string): TaskInfo {
  const task = getTask(id);
  return { id: task.id, dataset: task.dataset, description: task.description, conditioned: task.conditioned, defaults: { ...task.defaults } as unknown as Record<string, number> };
}

function requireString(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value.length === 0) {
    throw new EngineError('bad_request', `the request needs '${name}' as a non-empty string`, { hint: 'check the request parameters' });
  }
}

function optionalString(value: unknown, name: string): asserts value is string | undefined {
  if (value !== undefined) requireString(value, name);
}

function badRequest(what: string): never {
  throw new EngineError('bad_request', `the request's ${what}`, { hint: 'check the request parameters (engine/protocol.ts)' });
}

/** Runs `then` once the job with this id has ended (finished, failed or cancelled). */
function whenJobEnds(service: EngineService, job: JobInfo, then: () => void): void {
  const unsubscribe = service.subscribe((event) => {
    if ((event.type === 'job.finished' || event.type === 'job.failed') && event.job.id === job.id) {
      unsubscribe();
      then();
    }
  });
}

/** Pools every tensor's values over these blobs, one at a time (the event loop breathes between them). */
async function tensorStats(service: EngineService, shas: string[], order: string[]): Promise<TensorStats[]> {
  const acc = new Map<string, { n: number; sum: number; sumSq: number; min: number; max: number; means: number[] }>();
  for (const sha256 of shas) {
    const { tensors } = await readBlobTensors(service.blobs, sha256);
    for (const tensor of tensors) {
      const values = toFloat64Array(tensor.dtype, tensor.data);
      const a = acc.get(tensor.name) ?? { n: 0, sum: 0, sumSq: 0, min: Infinity, max: -Infinity, means: [] };
      let sum = 0;
      for (const v of values) {
        sum += v;
        a.sumSq += v * v;
        if (v < a.min) a.min = v;
        if (v > a.max) a.max = v;
      }
      a.n += values.length;
      a.sum += sum;
      a.means.push(values.length ? sum / values.length : 0);
      acc.set(tensor.name, a);
    }
    await new Promise((resolveTick) => setImmediate(resolveTick));
  }
  const rank = (name: string) => (order.includes(name) ? order.indexOf(name) : order.length);
  return [...acc.entries()]
    .sort(([x], [y]) => rank(x) - rank(y))
    .map(([name, a]) => {
      const mean = a.n ? a.sum / a.n : 0;
      const meanOfMeans = a.means.reduce((s, m) => s + m, 0) / Math.max(1, a.means.length);
      return {
        name,
        mean,
        std: Math.sqrt(Math.max(0, a.n ? a.sumSq / a.n - mean * mean : 0)),
        min: a.n ? a.min : 0,
        max: a.n ? a.max : 0,
        spread: Math.sqrt(a.means.reduce((s, m) => s + (m - meanOfMeans) ** 2, 0) / Math.max(1, a.means.length)),
      };
    });
}

async function cachedStats<R>(service: EngineService, key: string, shas: string[], compute: () => Promise<R>): Promise<R> {
  const { stats } = stateOf(service);
  const blobsKey = shas.join(',');
  const cached = stats.get(key);
  if (cached && cached.key === blobsKey) return cached.result as R;
  const result = await compute();
  stats.set(key, { key: blobsKey, result });
  return result;
}

async function zooStats(service: EngineService, name: string): Promise<ResultOf<'zoo.stats'>> {
  const db = service.catalog().db;
  const zoo = getZoo(db, name);
  const shas = listCheckpoints(db, zoo.id).map((c) => c.sha256);
  return cachedStats(service, `zoo:${name}`, shas, async () => ({
    zoo: name,
    checkpoints: shas.length,
    tensors: await tensorStats(
      service,
      shas,
      (zoo.signature ?? []).map((t) => t.name),
    ),
  }));
}

async function runStats(service: EngineService, id: Id): Promise<ResultOf<'run.stats'>> {
  const db = service.catalog().db;
  const run = runDetail(db, id);
  const shas = run.generated.map((m) => m.sha256);
  const zoo = getZoo(db, run.zoo);
  return cachedStats(service, `run:${id}`, shas, async () => ({
    run: id,
    models: shas.length,
    tensors: await tensorStats(
      service,
      shas,
      (zoo.signature ?? []).map((t) => t.name),
    ),
  }));
}

export function installApp(service: EngineService): void {
  const db = () => service.catalog().db;
  stateOf(service); // starts recording live training losses

  // Chosen where the compute jobs run (the compute worker), so the answer is the backend they use.
  service.handle('engine.backend', async () => (await service.compute.backend(true))!);
  service.handle('engine.gpu', () => probeWebgpu());
  service.handle('zoo.usage', () => {
    const usage: Record<string, ZooUsage> = {};
    for (const [zoo, { shas, formats }] of zooBlobs(db())) {
      let bytes = 0;
      for (const sha of shas) {
        try {
          bytes += statSync(service.blobs.path(sha)).size;
        } catch {
          // a missing blob counts nothing (gc or a broken data folder; inspect reports it)
        }
      }
      usage[zoo] = { bytes, formats: formats.sort() as ZooUsage['formats'] };
    }
    return usage;
  });
  service.handle('storage.gc', async ({ dryRun, graceMinutes }) => {
    const grace = graceMinutes ?? 10;
    if (!(typeof grace === 'number' && Number.isFinite(grace) && grace >= 0)) badRequest("'graceMinutes' is not a number ≥ 0");
    const result = await collectGarbage(service.catalog(), service.blobs, { minAgeMs: grace * 60_000, dryRun: dryRun === true });
    return { removed: result.removed.length, bytesFreed: result.bytesFreed, kept: result.kept, blobs: result.removed, tempsRemoved: result.tempsRemoved };
  });
  service.handle('run.stats', ({ id }) => {
    requireString(id, 'id');
    return runStats(service, id);
  });
  service.handle('zoo.stats', ({ name }) => {
    requireString(name, 'name');
    return zooStats(service, name);
  });
  service.handle('task.list', () => listTaskIds().map(taskInfo));
  service.handle('zoo.rename', ({ name, to }) => {
    requireString(name, 'name');
    requireString(to, 'to');
    const zoo = renameZoo(db(), name, to);
    service.emit({ type: 'catalog.changed', what: 'zoos', zoo: to });
    return zoo;
  });
  service.handle('zoo.delete', ({ name }) => {
    requireString(name, 'name');
    deleteZoo(db(), name);
    service.emit({ type: 'catalog.changed', what: 'zoos' });
    return { deleted: name };
  });
  service.handle('checkpoint.delete', ({ ids }) => {
    if (!Array.isArray(ids) || ids.some((id) => typeof id !== 'string'))
      throw new EngineError('bad_request', "the request needs 'ids' as a list of checkpoint ids", { hint: 'check the request parameters' });
    const deleted = deleteCheckpoints(db(), ids);
    service.emit({ type: 'catalog.changed', what: 'checkpoints' });
    return { deleted };
  });
  service.handle('run.list', ({ zoo }) => {
    optionalString(zoo, 'zoo');
    return runSummaries(db(), zoo);
  });
  service.handle('run.show', ({ id }) => {
    requireString(id, 'id');
    const run = runDetail(db(), id);
    // Steps after the last save, while this process trains the run.
    const live = run.job ? stateOf(service).liveLoss.get(run.job) : undefined;
    return live ? { ...run, recentLoss: live.filter(([step]) => step > run.lossCurve.length) } : run;
  });
  service.handle('run.delete', ({ id }) => {
    requireString(id, 'id');
    deleteRun(db(), id);
    service.emit({ type: 'catalog.changed', what: 'runs' });
    return { deleted: id };
  });
  service.handle('model.list', ({ run }) => {
    optionalString(run, 'run');
    return generatedModels(db(), run);
  });
  service.handle('evaluation.list', ({ run }) => {
    optionalString(run, 'run');
    return evaluations(db(), run);
  });
  service.handle('evaluation.get', ({ id }) => {
    requireString(id, 'id');
    return evaluation(db(), id);
  });
  service.handle('generator.settings', () => generatorSettings());
  service.handle('generator.validate', ({ preset, set, zoo }) => {
    optionalString(preset, 'preset');
    optionalString(zoo, 'zoo');
    if (set !== undefined && (typeof set !== 'object' || set === null || Array.isArray(set))) badRequest("'set' is not an object of generator settings");
    const row = zoo ? getZoo(db(), zoo) : null;
    const parameters = row ? parameterCount(row.signature) : undefined;
    const config = resolveConfig({ ...(preset ? { preset } : {}), ...(parameters !== undefined ? { parameterCount: parameters, task: row?.task } : {}), overrides: (set ?? {}) as never });
    // The time on this machine, before training starts (from the zoo's token count and this data folder's earlier runs).
    const checkpoints = row ? countCheckpoints(db(), row.id) : 0;
    const estimate =
      row?.signature && checkpoints > 0
        ? estimateTraining(db(), planBackend().name, config, {
            tokenCount: tokenCountFor(row.signature, config.tokenSize),
            checkpoints,
            heldOutCheckModels: heldOutCheckModelCount(row.task),
          })
        : null;
    return { config: { ...config }, estimate };
  });

  service.handle('upload.begin', ({ files }) => stateOf(service).uploads.begin(files));
  service.handle('upload.cancel', ({ upload }) => {
    requireString(upload, 'upload');
    stateOf(service).uploads.remove(upload);
    return { cancelled: upload };
  });
  service.handle('upload.import', ({ upload, zoo, permutationState, condition }) => {
    requireString(upload, 'upload');
    requireString(zoo, 'zoo');
    if (permutationState !== undefined && !(Number.isSafeInteger(permutationState) && permutationState >= 0)) badRequest("'permutationState' is not an integer ≥ 0");
    if (condition !== undefined && !(Array.isArray(condition) && condition.every((bit) => bit === 0 || bit === 1))) badRequest("'condition' is not a list of 0/1 task bits");
    const { uploads } = stateOf(service);
    let paths: string[];
    let dir: string;
    try {
      ({ paths, dir } = uploads.finish(upload));
    } catch (error) {
      uploads.remove(upload);
      throw error;
    }
    const job = service.jobs.submit('import', { zoo, paths, ...(permutationState !== undefined ? { permutationState } : {}), ...(condition ? { condition } : {}) });
    whenJobEnds(service, job, () => {
      const done = getJob(db(), job.id);
      if (done?.status === 'succeeded') {
        for (const { id, source } of (done.result as ImportResult).imported) {
          if (isInside(dir, source)) setCheckpointSource(db(), id, `upload:${relative(dir, source).split(sep).join('/')}`);
        }
        service.emit({ type: 'catalog.changed', what: 'checkpoints', zoo });
      } else if (done?.status === 'failed') {
        stripJobErrorPrefix(db(), job.id, `${dir}${sep}`);
      }
      uploads.remove(upload);
    });
    return { job, dir };
  });

  service.handle('download.export', ({ id, format }) => {
    requireString(id, 'id');
    if (format !== undefined && !['safetensors', 'pth', 'peft'].includes(format)) badRequest(`'format' is '${String(format)}', not safetensors, pth or peft`);
    const model = resolveModel(db(), id);
    const chosen: CheckpointFormat = format ?? model.format;
    if (writesFolder(chosen, model.layout)) {
      throw new EngineError('bad_option', `${id} as ${chosen} is a folder (${chosen === 'peft' ? 'a PEFT adapter' : 'a timm hub folder'}) and cannot be downloaded as one file yet`, {
        hint: `${chosen === 'peft' ? 'download it as safetensors, or ' : ''}export it into a folder on the engine's machine (the export request)`,
      });
    }
    const folder = join(service.dataDir, 'downloads', `${process.pid}-${randomBytes(8).toString('hex')}`);
    mkdirSync(folder, { recursive: true, mode: 0o700 });
    const base =
      (model.source ? basename(model.source) : model.id)
        .replace(/\.(safetensors|pth|pt|bin|tar)$/i, '')
        .replace(/\.(pth|pt)$/i, '')
        .replace(/[^A-Za-z0-9._-]/g, '_') || model.id;
    const out = join(folder, `${base}.${chosen === 'pth' ? 'pth' : 'safetensors'}`);
    const job = service.jobs.submit('export', { id, out, format: chosen });
    return { job };
  });
  service.handle('download.ticket', ({ job: jobId }) => {
    requireString(jobId, 'job');
    const job = getJob(db(), jobId);
    const result = job?.result as ExportResult | undefined;
    const root = join(service.dataDir, 'downloads');
    if (job?.kind !== 'export' || job.status !== 'succeeded' || !result?.path || !isInside(root, result.path) || !existsSync(result.path) || !statSync(result.path).isFile()) {
      throw new EngineError('no_download', `job ${jobId} is not a finished download export`, { hint: 'start one with download.export and wait for it to finish' });
    }
    const ticket = randomBytes(24).toString('base64url');
    const name = basename(result.path);
    stateOf(service).tickets.set(ticket, { path: result.path, name, expires: Date.now() + TICKET_LIFETIME_MS });
    return { url: `download/${ticket}`, name, size: statSync(result.path).size };
  });
}
