// WebGPU through Dawn's Node binding (npm `webgpu`): finding an adapter, making TensorFlow.js's
// WebGPU backend see it, and giving GPU memory back when a job ends.
// tfjs-backend-webgpu registers itself only if `navigator.gpu` exists when it is imported, and its
// kernels use the WebGPU globals (GPUBufferUsage, GPUMapMode, …) by name, so installWebgpu() puts
// both on globalThis first. The backend's factory asks navigator.gpu for an adapter, and ours answers
// with the one this process found (once: an adapter gives one device); the backend then requests the
// adapter's own limits (largest buffer, largest storage binding) for its device. probeWebgpu()
// describes the adapter without loading Dawn here (see probeQuietly).
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { GpuAdapterInfo } from '../protocol.js';
import { tf } from '../tf.js';

/** What Dawn's adapter reports (GPUAdapterInfo), as far as ParamZoo reads it. */
interface DawnAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter?: boolean;
}

interface DawnAdapter {
  info: DawnAdapterInfo;
  features: ReadonlySet<string>;
  limits: { maxBufferSize: number; maxStorageBufferBindingSize: number; maxStorageBuffersPerShaderStage: number };
  requestDevice(descriptor?: { requiredFeatures?: unknown[]; requiredLimits?: Record<string, number> }): Promise<unknown>;
}

interface DawnGpu {
  requestAdapter(options?: { powerPreference?: 'high-performance' | 'low-power' }): Promise<DawnAdapter | null>;
}

export interface WebgpuProbe {
  /** the adapter Dawn offers, null when there is none */
  adapter: GpuAdapterInfo | null;
  /** why WebGPU cannot be used here (no package, no adapter), null when it can */
  problem: string | null;
}

const SOFTWARE_ADAPTER = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

/** Software renderers (Mesa's lavapipe, SwiftShader, WARP) compute on the CPU: slower than wasm, never chosen unasked. */
export function isSoftwareAdapter(info: DawnAdapterInfo): boolean {
  return info.isFallbackAdapter === true || [info.vendor, info.architecture, info.device, info.description].some((text) => SOFTWARE_ADAPTER.test(text ?? ''));
}

function describe(adapter: DawnAdapter): GpuAdapterInfo {
  const { vendor, architecture, device, description } = adapter.info;
  return {
    vendor,
    architecture,
    device,
    description,
    software: isSoftwareAdapter(adapter.info),
    maxBufferBytes: adapter.limits.maxBufferSize,
    maxBindingBytes: adapter.limits.maxStorageBufferBindingSize,
  };
}

interface Dawn {
  gpu: DawnGpu;
  globals: Record<string, unknown>;
  adapter: DawnAdapter | null;
}

let probing: Promise<{ dawn: Dawn | null; probe: WebgpuProbe }> | null = null;

function firstLine(error: unknown): string {
  return String(error instanceof Error ? error.message : error).split('\n')[0] ?? '';
}

/** Loads Dawn and asks it for a high-performance adapter, once per process; never loads TensorFlow.js. */
function findAdapter(): Promise<{ dawn: Dawn | null; probe: WebgpuProbe }> {
  probing ??= (async () => {
    let module: { create(options: string[]): unknown; globals: object };
    try {
      module = (await import('webgpu')) as typeof module;
    } catch (error) {
      return { dawn: null, probe: { adapter: null, problem: `the webgpu package (Dawn) is not usable here (${firstLine(error)})` } };
    }
    try {
      const gpu = module.create([]) as DawnGpu;
      const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      const dawn: Dawn = { gpu, globals: module.globals as Record<string, unknown>, adapter };
      if (!adapter) return { dawn, probe: { adapter: null, problem: NO_ADAPTER } };
      return { dawn, probe: { adapter: describe(adapter), problem: null } };
    } catch (error) {
      return { dawn: null, probe: { adapter: null, problem: `Dawn could not look for an adapter (${firstLine(error)})` } };
    }
  })();
  return probing;
}

// Run by probeQuietly in a child process (as CommonJS, `node -e`): prints the adapter Dawn finds as one JSON line (null: none).
const PROBE_SCRIPT = `
const pick = (o, keys) => Object.fromEntries(keys.map((k) => [k, o[k]]));
import(process.argv[1])
  .then(({ create }) => create([]).requestAdapter({ powerPreference: 'high-performance' }))
  .then((adapter) => process.stdout.write(JSON.stringify(adapter && { info: pick(adapter.info, ['vendor', 'architecture', 'device', 'description', 'isFallbackAdapter']), limits: pick(adapter.limits, ['maxBufferSize', 'maxStorageBufferBindingSize', 'maxStorageBuffersPerShaderStage']) }) + '\\n'));
`;

let quietProbe: Promise<WebgpuProbe> | null = null;

/**
 * Dawn writes to stderr while it looks for adapters wherever no GPU driver is installed (the Vulkan
 * loader's "Found no drivers!") and on lavapipe: a user computing on wasm must not see that at every
 * job. So under plain Node the adapter is looked for in a short child process (≈ 0.2 s, once per
 * process), and Dawn is loaded here only when WebGPU is chosen. Electron's utility process has no
 * terminal, and its binary cannot run scripts: there Dawn is asked in-process.
 */
function probeQuietly(): Promise<WebgpuProbe> {
  quietProbe ??= (async () => {
    let entry: string;
    try {
      entry = pathToFileURL(createRequire(import.meta.url).resolve('webgpu')).href;
    } catch (error) {
      return { adapter: null, problem: `the webgpu package (Dawn) is not installed (${firstLine(error)})` };
    }
    const output = await new Promise<{ stdout: string; error: Error | null }>((resolve) => {
      execFile(process.execPath, ['-e', PROBE_SCRIPT, entry], { timeout: PROBE_TIMEOUT_MS, env: process.env }, (error, stdout) => resolve({ stdout, error }));
    });
    const line = output.stdout.trim().split('\n').at(-1);
    if (output.error && !line) return { adapter: null, problem: `Dawn could not look for an adapter (${firstLine(output.error)})` };
    try {
      const found = JSON.parse(line ?? 'null') as DawnAdapter | null;
      return found ? { adapter: describe(found), problem: null } : { adapter: null, problem: NO_ADAPTER };
    } catch {
      return { adapter: null, problem: `Dawn's adapter probe printed no result (${firstLine(output.error ?? line)})` };
    }
  })();
  return quietProbe;
}

const PROBE_TIMEOUT_MS = 20_000;
const NO_ADAPTER = 'Dawn found no WebGPU adapter (no Vulkan, Metal or D3D12 driver for a GPU)';

/** The WebGPU adapter this process would compute on, or why there is none; loads neither TensorFlow.js nor (under Node) Dawn. */
export async function probeWebgpu(): Promise<WebgpuProbe> {
  const probe = process.versions.electron || probing ? (await findAdapter()).probe : await probeQuietly();
  settled = probe;
  return probe;
}

let settled: WebgpuProbe | undefined;

/** The probe's answer if it has come, else undefined (and the probe is started): for answers that must not wait on it. */
export function probeWebgpuIfDone(): WebgpuProbe | undefined {
  if (!settled) void probeWebgpu();
  return settled;
}

let installed = false;

/** Puts Dawn's WebGPU globals and a navigator.gpu that answers with the probed adapter on globalThis, then imports the backend. */
export async function installWebgpu(): Promise<void> {
  if (installed) return;
  const { dawn } = await findAdapter();
  if (!dawn?.adapter) throw new Error('no WebGPU adapter to install');
  const adapter = dawn.adapter;
  // The backend requests the adapter's buffer-size limits but not its storage buffers per shader
  // stage, which kernels with many inputs (Concat, AddN) need: the default is 8.
  const forBackend = {
    info: adapter.info,
    features: adapter.features,
    limits: adapter.limits,
    requestDevice: (descriptor: Parameters<DawnAdapter['requestDevice']>[0] = {}) =>
      adapter.requestDevice({ ...descriptor, requiredLimits: { ...descriptor.requiredLimits, maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } }),
  };
  const gpu = { requestAdapter: async () => forBackend, getPreferredCanvasFormat: () => 'rgba8unorm' as const };
  for (const [name, value] of Object.entries(dawn.globals)) {
    if (!(name in globalThis)) Object.defineProperty(globalThis, name, { value, configurable: true, writable: true });
  }
  // Node 21+ has a navigator of its own (read through a getter): gpu is added to it; Node 20 has none.
  const navigator = (globalThis as { navigator?: object }).navigator;
  if (navigator) Object.defineProperty(navigator, 'gpu', { value: gpu, configurable: true });
  else Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  await import('@tensorflow/tfjs-backend-webgpu');
  installed = true;
}

let shimmed = false;

/**
 * AddN on WebGPU binds every input as a storage buffer, and a shader stage may bind only so many
 * (8 by default, 16 on lavapipe): gradients of a tensor used in many places sum 25 or more. Inputs
 * beyond the limit are summed in groups by the same kernel, then the partial sums. Call after the
 * webgpu backend is chosen; idempotent.
 */
export function registerWebgpuShims(): void {
  if (shimmed) return;
  const addN = tf.getKernel('AddN', 'webgpu');
  if (!addN) return;
  shimmed = true;
  const kernelFunc = addN.kernelFunc;
  const grouped: tf.KernelFunc = ({ inputs, backend, attrs }) => {
    const tensors = inputs as unknown as tf.TensorInfo[];
    const device = (backend as unknown as { device: { limits: { maxStorageBuffersPerShaderStage: number } } }).device;
    const most = Math.max(2, device.limits.maxStorageBuffersPerShaderStage - 1);
    if (tensors.length <= most) return kernelFunc({ inputs, backend, attrs });
    const partial: tf.TensorInfo[] = [];
    for (let first = 0; first < tensors.length; first += most) {
      const group = tensors.slice(first, first + most);
      partial.push(group.length === 1 ? group[0]! : (kernelFunc({ inputs: group as never, backend, attrs }) as tf.TensorInfo));
    }
    const sum = grouped({ inputs: partial as never, backend, attrs }) as tf.TensorInfo;
    for (const [i, info] of partial.entries()) if (info !== tensors[i * most]) (backend as tf.KernelBackend).disposeData(info.dataId);
    return sum;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({ kernelName: 'AddN', backendName: 'webgpu', kernelFunc: grouped });
}

interface WebgpuBufferPool {
  freeBuffers: Map<string, { size: number; destroy(): void }[]>;
  numFreeBuffers: number;
  numBytesAllocated: number;
}

/**
 * Destroys the buffers TensorFlow.js's WebGPU backend keeps for reuse (its pool grows to the largest
 * job's working set and is never shrunk), so a finished, failed or cancelled job leaves on the GPU
 * only what live tensors hold. No-op on other backends.
 */
export function releaseGpuMemory(): void {
  if (tf.getBackend() !== 'webgpu') return;
  const pool = (tf.backend() as unknown as { bufferManager?: WebgpuBufferPool }).bufferManager;
  if (!pool) return;
  // Keys stay in the map: the backend skips pooling altogether while the map is empty.
  for (const buffers of pool.freeBuffers.values()) {
    for (const buffer of buffers.splice(0)) {
      buffer.destroy();
      pool.numBytesAllocated -= buffer.size;
      pool.numFreeBuffers -= 1;
    }
  }
}

/** Bytes the WebGPU backend holds on the GPU (live tensors and its pool); null on other backends. */
export function gpuBytesAllocated(): number | null {
  if (tf.getBackend() !== 'webgpu') return null;
  const memory = tf.memory() as { numBytesAllocatedInGPU?: number };
  return memory.numBytesAllocatedInGPU ?? null;
}
