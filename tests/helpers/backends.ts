// Which TensorFlow.js backends the engine's tensor tests run on: cpu (the reference), wasm (the
// embedded default) and webgpu when Dawn finds an adapter (on CI: Mesa's lavapipe, which .ci/run
// installs). Without an adapter the webgpu tests are skipped with the reason, unless
// PARAMZOO_TEST_WEBGPU=1 (set by .ci/run) says they must run: then they fail, naming what is missing.
import { probeWebgpu } from '../../engine/backend/webgpu.js';
import type { BackendName } from '../../engine/protocol.js';

const probe = await probeWebgpu();

/** The adapter the webgpu tests run on (null when there is none). */
export const webgpuAdapter = probe.adapter;

/** `skip` for a webgpu test: false when it must run. */
export const webgpuSkip: string | false = probe.adapter || process.env.PARAMZOO_TEST_WEBGPU === '1' ? false : `no WebGPU adapter here (${probe.problem}); .ci/run installs Mesa's lavapipe for these`;

export const TENSOR_BACKENDS = ['cpu', 'wasm', 'webgpu'] as const satisfies readonly BackendName[];

/** `skip` for a test on `backend`. */
export function skipOn(backend: BackendName): string | false {
  return backend === 'webgpu' ? webgpuSkip : false;
}
