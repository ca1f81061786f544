// A generator small enough for tests (well under a second per step on wasm), as `paramzoo train`
// options: `--set key=value` for each setting.
const SMALL_GENERATOR: Record<string, string> = {
  tokenSize: '64',
  recurrentWidth: '32',
  recurrentLayers: '1',
  denoiserChannels: '8,16,8',
  timeFeatures: '32',
  diffusionBatch: '32',
  saveEvery: '10',
};

/** `--set` options for the small generator, with `overrides` on top. */
export function smallGeneratorOptions(overrides: Record<string, string> = {}): string[] {
  return Object.entries({ ...SMALL_GENERATOR, ...overrides }).flatMap(([key, value]) => ['--set', `${key}=${value}`]);
}
