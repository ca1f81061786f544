// Whether the WebGPU tests can run here: Dawn must find an adapter (on CI: Mesa's lavapipe, which
// .ci/run installs). Without one they are skipped with the reason, unless PARAMZOO_TEST_WEBGPU=1
// (set by .ci/run) says they must run: then they fail, naming what is missing.
import { probeWebgpu } from '../../engine/backend/webgpu.js';

const probe = await probeWebgpu();

/** The adapter the webgpu tests run on (null when there is none). */
export const webgpuAdapter = probe.adapter;

/** `skip` for a webgpu test: false when it must run. */
export const webgpuSkip: string | false = probe.adapter || process.env.PARAMZOO_TEST_WEBGPU === '1' ? false : `no WebGPU adapter here (${probe.problem}); .ci/run installs Mesa's lavapipe for these`;
