// The engine in Electron's utility process (main forks dist/engine/hosts/electron-worker.js).
// Main posts {type: 'connect'} with one MessagePort per window; each port is served until its
// window goes away. {type: 'stop'} (main quitting) closes the service, then the process exits.
// Electron is not imported: `process.parentPort` is typed by its shape.
import { createEngineService } from '../service.js';
import { servePort, type EnginePort } from './message-port.js';

/** Electron's `process.parentPort` in a utility process, as far as the engine uses it. */
interface ParentPort {
  on(event: 'message', listener: (event: { data: unknown; ports: EnginePort[] }) => void): unknown;
}

const parentPort = (process as NodeJS.Process & { parentPort?: ParentPort }).parentPort;
const dataDir = process.env.PARAMZOO_DATA;

if (!parentPort || !dataDir) {
  process.stderr.write(
    !parentPort
      ? "paramzoo: electron-worker runs only as Electron's utility process; outside Electron use 'paramzoo serve' or the CLI\n"
      : 'paramzoo: the engine worker needs PARAMZOO_DATA (the data folder); Electron main sets it ($PARAMZOO_DATA, else ~/.paramzoo)\n',
  );
  process.exit(1);
}

const service = createEngineService({ dataDir });
// The app shows the jobs a CLI runs on the same data folder too, and can cancel them.
service.jobs.followOtherProcesses();
/** Electron's ports emit a MessageEvent; the request is its data. */
const messageOf = (event: unknown): unknown => (event as { data: unknown }).data;

let stopping = false;
parentPort.on('message', (event) => {
  const message = event.data as { type?: unknown } | null;
  const port = event.ports[0];
  if (message?.type === 'connect' && port) servePort(service, port, messageOf);
  else if (message?.type === 'stop') stop();
  else console.error('paramzoo: the engine worker ignored a message from main:', message);
});

const stop = (): void => {
  if (stopping) return;
  stopping = true;
  // Jobs are cancelled and the catalog closed, so a quit never leaves a job 'running'.
  service.close().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error('paramzoo: the engine did not close cleanly:', error);
      process.exit(2);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
