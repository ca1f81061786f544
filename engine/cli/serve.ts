import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';
import type { Command } from './command.js';
import { UsageError } from './args.js';

/** A fixed default, so a bookmark survives restarts (the token in it does not: a new one each start). */
export const DEFAULT_PORT = 8370;
/** renderer/dist of the project: two folders up from this source, three from the compiled CLI (dist/engine/cli/serve.js). */
const UI_DIR = fileURLToPath(new URL(existsSync(new URL('../../package.json', import.meta.url)) ? '../../renderer/dist' : '../../../renderer/dist', import.meta.url));

export const serveCommand: Command = {
  name: 'serve',
  args: '',
  summary: 'the engine and the browser UI on 127.0.0.1',
  help: `Serves the engine over a WebSocket and the built UI (renderer/dist) over HTTP, on this
machine only. Prints the address to open, with a token that is new at each start; the engine
refuses any connection without it. Ctrl-C or SIGTERM stops it: running jobs are cancelled and
the catalog is closed.
  --port P      port to listen on (default ${DEFAULT_PORT}; 0 picks a free one)
  --host H      loopback address to bind: 127.0.0.1 (default), ::1 or localhost
With --json: {"url", "websocket", "port", "host", "dataDir", "ui"} (ui: the served folder, or null when not built).`,
  options: {
    port: { type: 'string' },
    host: { type: 'string' },
  },
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const port = typeof ctx.options.port === 'string' ? parsePort(ctx.options.port) : DEFAULT_PORT;
    const host = typeof ctx.options.host === 'string' ? ctx.options.host : '127.0.0.1';
    const service = ctx.service();
    if (ctx.backend || ctx.threads !== undefined) {
      // chosen where the jobs compute (the compute worker), before the address is printed: a backend that cannot load is reported now
      await service.compute.backend(true, { ...(ctx.backend ? { preferred: ctx.backend } : {}), ...(ctx.threads !== undefined ? { threads: ctx.threads } : {}) });
    }
    // Open the catalog now: a broken data folder is reported before the address is printed.
    service.catalog();
    // The page shows the jobs a CLI runs on the same data folder too, and can cancel them.
    service.jobs.followOtherProcesses();

    // Loaded here: the WebSocket server (ws) is most of the CLI's start-up, and only serve needs it.
    const { startWebServer } = await import('../hosts/web-server.js');
    const server = await startWebServer({ service, host, port, uiDir: UI_DIR });
    const stopped = new Promise<string>((resolvePromise) => {
      const stop = (signal: NodeJS.Signals) => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolvePromise(signal);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    const ui = existsSync(UI_DIR) ? UI_DIR : null;
    ctx.print({ url: server.url, websocket: server.websocketUrl, port: server.port, host: server.host, dataDir: service.dataDir, ui }, () =>
      [`ParamZoo engine on ${service.dataDir}`, ui ? `UI: ${ui}` : `UI: not built (${UI_DIR} does not exist); the page says how to build it`, `open ${server.url}`, 'Ctrl-C to stop'].join('\n'),
    );
    const signal = await stopped;
    if (!ctx.json) process.stderr.write(`paramzoo: ${signal}: stopping (running jobs are cancelled)\n`);
    await server.close();
    // The CLI closes the service after this returns: jobs cancelled, catalog closed.
  },
};

function parsePort(text: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text) : NaN;
  if (!(port <= 65535)) throw new UsageError(`--port must be a port number from 0 to 65535, not '${text}'`, `e.g. --port ${DEFAULT_PORT}, or --port 0 for a free one`);
  return port;
}
