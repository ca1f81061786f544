// Serves the engine over one message port: Electron's MessagePortMain in the utility process,
// or node:worker_threads' MessagePort (same shape; what the tests drive).
import type { EngineService } from '../service.js';
import { createConnection, type Connection } from './connection.js';

/** The part of a port the engine uses; MessagePortMain and node's MessagePort both have it. */
export interface EnginePort {
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  postMessage(message: unknown): void;
  start(): void;
  close(): void;
}

/**
 * Answers the requests arriving on `port` and sends it every engine event until the other end
 * closes. `dataOf` takes the message out of what the port emits: Electron emits a MessageEvent
 * (`{data, ports}`), node emits the message itself.
 */
export function servePort(service: EngineService, port: EnginePort, dataOf: (emitted: unknown) => unknown = (emitted) => emitted): Connection {
  const connection = createConnection(service, (message) => port.postMessage(message));
  port.on('message', (emitted) => void connection.receive(dataOf(emitted)));
  port.on('close', () => connection.close());
  port.start();
  return connection;
}
