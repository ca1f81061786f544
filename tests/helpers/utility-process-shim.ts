// Runs an Electron engine worker (dist/engine/hosts/electron-worker.js) under plain Node, standing in
// for Electron's utility process: `process.parentPort` is an EventEmitter, and the port main would
// broker is one end of a node:worker_threads MessageChannel, dressed as a MessagePortMain (it emits
// MessageEvents). Prints each answer to the requests in argv as one JSON line, then asks the worker
// to stop; the worker's exit code is this process's.
// Usage: node --import tsx tests/helpers/utility-process-shim.ts WORKER.js '{"method":…,"params":…}'...
import { EventEmitter } from 'node:events';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const [worker, ...requests] = process.argv.slice(2);
const parentPort = new EventEmitter();
(process as unknown as Record<string, unknown>).parentPort = parentPort;
await import(pathToFileURL(worker!).href);

const { port1, port2 } = new MessageChannel();
const portMain = {
  on(event: string, listener: (value: unknown) => void) {
    if (event === 'message') port1.on('message', (data: unknown) => listener({ data, ports: [] }));
    else port1.on(event, listener);
    return portMain;
  },
  postMessage: (message: unknown) => port1.postMessage(message),
  start: () => port1.start(),
  close: () => port1.close(),
};
parentPort.emit('message', { data: { type: 'connect' }, ports: [portMain] });

let id = 0;
const answers = new Map<number, (answer: unknown) => void>();
port2.on('message', (message: { id?: number }) => {
  if (typeof message.id === 'number') answers.get(message.id)?.(message);
});
for (const text of requests) {
  const { method, params } = JSON.parse(text) as { method: string; params: unknown };
  const answer = await new Promise((resolve) => {
    answers.set(++id, resolve);
    port2.postMessage({ id, method, params });
  });
  process.stdout.write(`${JSON.stringify(answer)}\n`);
}
port2.close();
parentPort.emit('message', { data: { type: 'stop' }, ports: [] });
