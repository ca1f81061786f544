import type { BackendInfo, GpuAdapterInfo } from '../protocol.js';
import type { Command } from './command.js';

function describeAdapter(adapter: GpuAdapterInfo): string {
  const name = adapter.description || [adapter.vendor, adapter.architecture, adapter.device].filter(Boolean).join(' ');
  return `${name} (${adapter.software ? 'software renderer: computes on the CPU' : 'hardware'}; vendor ${adapter.vendor || '?'}, architecture ${adapter.architecture || '?'}; largest buffer ${(adapter.maxBufferBytes / 2 ** 20).toFixed(0)} MiB)`;
}

export function describeBackend(backend: BackendInfo): string[] {
  const lines = [
    `backend   ${backend.name}${backend.threads ? ` on ${backend.threads} thread${backend.threads === 1 ? '' : 's'}` : ''}${backend.planned ? ' (what the first compute job will choose)' : ''}`,
  ];
  lines.push(`GPU       ${backend.adapter ? describeAdapter(backend.adapter) : 'no WebGPU adapter'}`);
  for (const note of backend.notes) lines.push(`  why: ${note}`);
  return lines;
}

export const infoCommand: Command = {
  name: 'info',
  args: '',
  summary: 'version, data folder, the backend compute jobs use and the GPU adapter found',
  help: `Prints what the app's status bar shows: the engine version, the data folder, the backend the
next compute job will use (with --backend: that one, loaded now, so a backend that cannot load says
why) and the WebGPU adapter Dawn found (vendor, architecture, hardware or software renderer).
With --json: {"version", "dataDir", "backend": {"name", "notes", "threads"?, "adapter"?}}.`,
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const service = ctx.service();
    await service.request('engine.gpu', {}); // waits for the adapter probe, so that engine.info's forecast includes it
    const info = await service.request('engine.info', {});
    const backend =
      ctx.backend || ctx.threads !== undefined
        ? ((await service.compute.backend(true, { ...(ctx.backend ? { preferred: ctx.backend } : {}), ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}) })) ?? info.backend)
        : info.backend;
    const result = { ...info, backend };
    ctx.print(result, () => [`ParamZoo  ${result.version}`, `data      ${result.dataDir}`, ...(backend ? describeBackend(backend) : ['backend   unknown'])].join('\n'));
  },
};
