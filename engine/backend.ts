// TensorFlow.js backend choice. Best first: tensorflow (tfjs-node-gpu / tfjs-node, when they
// load), webgpu (Dawn, when it finds a hardware adapter: a software one is used only when asked
// for), wasm (the embedded default: offline, everywhere), cpu (reference for tests).
// Shims for wasm's missing kernels and slow paths are registered from ./backend/shims.ts.
// TensorFlow.js itself comes from ./tf.ts: initBackend loads it; importing this module does not.
import { createRequire } from 'node:module';
import { loadTf, tf } from './tf.js';
import type { BackendInfo, BackendName, GpuAdapterInfo } from './protocol.js';
import { EngineError } from './errors.js';
import { registerWasmShims } from './backend/shims.js';
import { installWebgpu, probeWebgpu, probeWebgpuIfDone, registerWebgpuShims, releaseGpuMemory, type WebgpuProbe } from './backend/webgpu.js';
import { defaultWasmThreads, MAX_WASM_THREADS, prepareThreadedWasm, threadedWasmProblem, wasmThreadsInUse } from './backend/wasm-threads.js';

export type { BackendName } from './protocol.js';

let current: BackendInfo | null = null;

async function tryTensorflow(notes: string[]): Promise<boolean> {
  for (const pkg of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    try {
      await import(pkg);
      if (await tf.setBackend('tensorflow')) return true;
      notes.push(`${pkg} loaded but its backend did not initialise`);
    } catch (error) {
      notes.push(`${pkg} is not usable here (${firstLine(error)})`);
    }
  }
  return false;
}

/** Why a software adapter was not chosen: the same words in the forecast and in the choice. */
function softwareAdapterNote(adapter: GpuAdapterInfo): string {
  return `webgpu: the adapter is a software renderer (${adapter.description || adapter.device}), slower than wasm; it is used only when the webgpu backend is asked for`;
}

/** WebGPU on Dawn's adapter; unasked (`forced` false) only on a hardware one. Returns the adapter found, if any. */
async function tryWebgpu(notes: string[], forced: boolean): Promise<{ ok: boolean; adapter?: GpuAdapterInfo }> {
  const { adapter, problem } = await probeWebgpu();
  if (!adapter) {
    notes.push(`webgpu: ${problem}`);
    return { ok: false };
  }
  if (adapter.software && !forced) {
    notes.push(softwareAdapterNote(adapter));
    return { ok: false, adapter };
  }
  try {
    await installWebgpu();
    if (await tf.setBackend('webgpu')) return { ok: true, adapter };
    notes.push('webgpu: the backend did not initialise on its adapter');
  } catch (error) {
    notes.push(`webgpu: @tensorflow/tfjs-backend-webgpu is not usable (${firstLine(error)})`);
  }
  return { ok: false, adapter };
}

async function tryWasm(notes: string[], threads: number): Promise<boolean> {
  try {
    await import('@tensorflow/tfjs-backend-wasm');
    const problem = threads > 1 ? threadedWasmProblem() : null;
    if (problem) notes.push(`wasm runs on one thread: ${problem}`);
    if (threads > 1 && !problem) {
      const restore = await prepareThreadedWasm(threads);
      let ok: boolean;
      try {
        ok = await tf.setBackend('wasm');
      } finally {
        restore();
      }
      if (ok) return true;
      notes.push('the threaded wasm build did not initialise; using one thread');
      tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
    }
    if (await tf.setBackend('wasm')) return true;
    notes.push('the wasm backend did not initialise');
  } catch (error) {
    notes.push(`@tensorflow/tfjs-backend-wasm is not usable (${firstLine(error)})`);
  }
  return false;
}

export interface BackendOptions {
  /** wasm threads (XNNPACK's pool); default: every core, at most 8. The env PARAMZOO_THREADS sets the default. */
  threads?: number;
}

function wantedThreads(options: BackendOptions, notes: string[]): number {
  const fromEnv = process.env.PARAMZOO_THREADS;
  const threads = options.threads ?? (fromEnv ? Number(fromEnv) : defaultWasmThreads());
  if (!Number.isInteger(threads) || threads < 1) {
    throw new EngineError('bad_request', `threads must be a positive integer, got ${String(options.threads ?? fromEnv)}`, {
      hint: `leave threads out to use every core (${defaultWasmThreads()} here)`,
      fields: ['threads'],
    });
  }
  if (threads <= MAX_WASM_THREADS) return threads;
  notes.push(`wasm computes on at most ${MAX_WASM_THREADS} threads (XNNPACK's pool), not ${threads}`);
  return MAX_WASM_THREADS;
}

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}

/**
 * Selects the backend once per process. With no preference: the best that loads (tfjs-node-gpu,
 * tfjs-node, then wasm; a package that is not installed fails its import at once).
 * Asking for one that cannot load is a user error.
 */
export function initBackend(preferred?: BackendName, options: BackendOptions = {}): Promise<BackendInfo> {
  // One choice at a time: two at once (a restarted compute worker re-applying its backend while a
  // request asks for it) would initialise a backend twice, and a WebGPU adapter gives one device.
  const chosen = choosing.then(() => chooseBackend(preferred, options));
  choosing = chosen.catch(() => undefined);
  return chosen;
}

let choosing: Promise<unknown> = Promise.resolve();

async function chooseBackend(preferred: BackendName | undefined, options: BackendOptions): Promise<BackendInfo> {
  if (current && (preferred === undefined || current.name === preferred)) return current;
  await loadTf();
  const notes: string[] = [];
  const threads = wantedThreads(options, notes);
  let ok = false;
  let adapter: GpuAdapterInfo | undefined;
  const webgpu = async (forced: boolean): Promise<boolean> => {
    const tried = await tryWebgpu(notes, forced);
    adapter = tried.adapter;
    return tried.ok;
  };
  if (preferred === 'tensorflow') ok = await tryTensorflow(notes);
  else if (preferred === 'webgpu') ok = await webgpu(true);
  else if (preferred === 'wasm') ok = await tryWasm(notes, threads);
  else if (preferred === 'cpu') ok = await tf.setBackend('cpu');
  else {
    ok = (await tryTensorflow(notes)) || (await webgpu(false)) || (await tryWasm(notes, threads));
    if (!ok) ok = await tf.setBackend('cpu');
  }
  if (!ok) {
    throw new EngineError('backend_unavailable', `backend '${preferred}' cannot be used here: ${notes.join('; ')}`, {
      hint: 'use --backend wasm (the embedded default) or --backend cpu',
    });
  }
  await tf.ready();
  if (tf.getBackend() === 'wasm') registerWasmShims();
  if (tf.getBackend() === 'webgpu') registerWebgpuShims();
  current = { name: tf.getBackend(), notes, ...(tf.getBackend() === 'wasm' ? { threads: await wasmThreadsInUse() } : {}), ...(adapter ? { adapter } : {}) };
  return current;
}

export function backendInfo(): BackendInfo | null {
  return current;
}

/** After a job ended (done, failed or cancelled): gives back the memory the backend pooled for it (WebGPU's buffers). */
export function releaseJobMemory(): void {
  if (current?.name === 'webgpu') releaseGpuMemory();
}

const TENSORFLOW_PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'];

function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
}

/**
 * The backend initBackend would choose with no preference, found without loading TensorFlow.js
 * (engine.info answers with it before any job ran): tensorflow when a tfjs-node package is
 * installed, webgpu when `webgpu` (the adapter Dawn found, from probeWebgpu) is a hardware one,
 * else wasm on the threads it would use, else cpu. `planned: true` marks the forecast; a package
 * that is installed but fails to load makes the real choice fall back to the next.
 */
export function planBackend(options: BackendOptions = {}, webgpu?: WebgpuProbe): BackendInfo {
  const notes: string[] = [];
  let threads: number;
  try {
    threads = wantedThreads(options, notes);
  } catch (error) {
    notes.push(firstLine(error));
    threads = defaultWasmThreads();
  }
  const adapter = webgpu?.adapter ? { adapter: webgpu.adapter } : {};
  const node = TENSORFLOW_PACKAGES.find(installed);
  if (node) return { name: 'tensorflow', notes, planned: true, ...adapter };
  for (const pkg of TENSORFLOW_PACKAGES) notes.push(`${pkg} is not installed`);
  if (webgpu?.adapter && !webgpu.adapter.software && installed('@tensorflow/tfjs-backend-webgpu')) return { name: 'webgpu', notes, planned: true, ...adapter };
  if (!webgpu && installed('webgpu')) notes.push('webgpu: looking for a GPU adapter (Dawn); asked again, the answer includes it');
  if (webgpu?.problem) notes.push(`webgpu: ${webgpu.problem}`);
  else if (webgpu?.adapter?.software) notes.push(softwareAdapterNote(webgpu.adapter));
  if (!installed('@tensorflow/tfjs-backend-wasm')) {
    notes.push('@tensorflow/tfjs-backend-wasm is not installed');
    return { name: 'cpu', notes, planned: true, ...adapter };
  }
  const problem = threads > 1 ? threadedWasmProblem() : null;
  if (problem) notes.push(`wasm runs on one thread: ${problem}`);
  return { name: 'wasm', notes, threads: problem ? 1 : threads, planned: true, ...adapter };
}

/** planBackend with the WebGPU adapter if it was found already; starts looking for it otherwise, never waits (engine.info answers at once). */
export function planBackendNow(options: BackendOptions = {}): BackendInfo {
  return planBackend(options, probeWebgpuIfDone());
}

export { tf };
