// Multi-threaded wasm in Node. tfjs-backend-wasm 4.22 ships a threaded SIMD build (XNNPACK on a
// pthreadpool: convolutions and matmuls split across cores) but never uses it in Node (tfjs#3830):
// 1. its flag WASM_HAS_MULTITHREAD_SUPPORT answers false when IS_NODE;
// 2. Emscripten's pthread workers are created from blob: URLs, which node:worker_threads refuses,
//    and the worker loads the module factory from a Blob through a file read;
// 3. the C++ side uses half the logical cores (it assumes two hyper-threads per core).
// The fix below is scoped to the backend's initialisation: while it runs, Blob/URL.createObjectURL
// remember the source text they were given, `Worker` becomes a worker_threads Worker that runs that
// text with `eval` (the factory is prefixed with the bundle's own module bindings it closes over),
// and os.cpus() reports twice the wanted thread count. Everything is restored afterwards; the
// pool's workers stay unref'd, so a process still exits when its work is done.
// Written here rather than forked: the package is pinned (4.22.0) and the patch checks the exact
// source it relies on before touching anything, falling back to one thread with a note.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import { tf } from '../tf.js';

/** The worker's script loader (reads a file); replaced by one that evaluates the text it is given. */
const WORKER_IMPORT = 'importScripts:function(f){(0,eval)(fs.readFileSync(f,"utf8")+"//# sourceURL="+f)}';
const WORKER_IMPORT_EVAL = 'importScripts:function(f){(0,eval)(f)}';
/** Module-level bindings of the CommonJS bundle that the threaded factory's source refers to. */
const FACTORY_BINDINGS = "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), " + "require$$4 = require('os'), commonjsGlobal = globalThis;\n";
const BUNDLE_BINDINGS = ["var require$$0 = require('fs');", "var require$$1 = require('path');", "var require$$3 = require('perf_hooks');", "var require$$4 = require('os');"];
/** XNNPACK's pool never exceeds this (the build pre-creates 8 workers). */
export const MAX_WASM_THREADS = 8;

/** The default thread count: every core the process may use, within the pool's limit. */
export function defaultWasmThreads(): number {
  return Math.max(1, Math.min(MAX_WASM_THREADS, os.availableParallelism()));
}

/** Why the threaded build cannot be used with the installed package, or null when it can. */
export function threadedWasmProblem(): string | null {
  let source: string;
  try {
    source = readFileSync(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'), 'utf8');
  } catch (error) {
    return `cannot read @tensorflow/tfjs-backend-wasm (${error instanceof Error ? error.message : String(error)})`;
  }
  if (typeof SharedArrayBuffer === 'undefined') return 'SharedArrayBuffer is not available';
  if (!source.includes(JSON.stringify(WORKER_IMPORT).slice(1, -1))) return 'its pthread worker source is not the one this engine was written against';
  if (!BUNDLE_BINDINGS.every((line) => source.includes(line))) return 'its module bindings are not the ones this engine was written against';
  if (!source.includes('return require$$4.cpus().length')) return 'it does not count cores with os.cpus()';
  return null;
}

/**
 * Prepares the next `tf.setBackend('wasm')` to load the threaded build with `threads` threads.
 * Returns the function that undoes the temporary patches; call it once the backend is ready (or failed).
 */
export async function prepareThreadedWasm(threads: number): Promise<() => void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const textOfBlob = new WeakMap<Blob, string>();
  const textOfUrl = new Map<string, string>();
  const RealBlob = globalThis.Blob;
  const realCreateObjectURL = URL.createObjectURL;
  const realCpus = os.cpus;
  const workerDescriptor = Object.getOwnPropertyDescriptor(globalThis, 'Worker');

  class RecordingBlob extends RealBlob {
    constructor(parts: ConstructorParameters<typeof Blob>[0] = [], options?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, options);
      if (parts?.every((part) => typeof part === 'string')) textOfBlob.set(this, (parts as string[]).join(''));
    }
  }
  class PthreadWorker extends NodeWorker {
    constructor(url: string | URL, options?: WorkerOptions) {
      const source = textOfUrl.get(String(url));
      if (source === undefined) {
        super(url, options);
        return;
      }
      // No inherited execArgv: a parent started with --input-type=module would make the eval'd
      // worker an ES module, without the `require` Emscripten's worker uses.
      super(source.replace(WORKER_IMPORT, WORKER_IMPORT_EVAL), { ...options, eval: true, execArgv: [] });
    }

    /**
     * Emscripten refs a worker while it runs a pthread, and XNNPACK's pool threads run for the
     * process's life: a CLI command would never exit. The main thread blocks while they compute,
     * so they never need to keep the process alive.
     */
    override ref(): void {}

    override postMessage(message: unknown, transfer?: readonly import('node:worker_threads').TransferListItem[]): void {
      const load = message as { cmd?: string; urlOrBlob?: unknown } | null;
      if (load?.cmd === 'load' && load.urlOrBlob instanceof RealBlob) {
        const factory = textOfBlob.get(load.urlOrBlob);
        if (factory === undefined) throw new Error('threaded wasm: the module factory was not recorded');
        message = { ...load, urlOrBlob: FACTORY_BINDINGS + factory };
      }
      super.postMessage(message, transfer);
    }
  }

  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (blob: Blob): string => {
    const url = realCreateObjectURL(blob);
    const text = textOfBlob.get(blob);
    if (text !== undefined) textOfUrl.set(url, text);
    return url;
  };
  Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PthreadWorker, set: () => undefined });
  // The C++ side takes half of the cores it is told about, and at most that many threads.
  os.cpus = () => Array.from({ length: 2 * threads }, () => realCpus()[0]!);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  wasm.setThreadsCount(threads);

  return () => {
    globalThis.Blob = RealBlob;
    URL.createObjectURL = realCreateObjectURL;
    os.cpus = realCpus;
    if (workerDescriptor) Object.defineProperty(globalThis, 'Worker', workerDescriptor);
    else delete (globalThis as { Worker?: unknown }).Worker;
    for (const url of textOfUrl.keys()) URL.revokeObjectURL(url);
  };
}

/** The threads XNNPACK actually uses (1 for the single-threaded build). */
export async function wasmThreadsInUse(): Promise<number> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  return wasm.getThreadsCount();
}
