// CommonJS on purpose: a sandboxed preload cannot be an ES module.
// Exposes window.paramzoo: requests and events over a MessagePort straight to the engine
// (brokered by main), file dialogs over ipc. Nothing else of Electron or Node reaches the page.
import { contextBridge, ipcRenderer } from 'electron';
import type { ClientMessage, EngineEvent, ServerMessage } from '../engine/protocol.js';
import type { ParamZooApi } from './api.js';

const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
const listeners = new Set<(event: EngineEvent) => void>();
const queued: ClientMessage[] = [];
// The DOM MessagePort of the renderer world, typed structurally (the project's lib has no DOM).
interface EnginePort {
  onmessage: ((message: { data: ServerMessage }) => void) | null;
  postMessage(message: ClientMessage): void;
  start(): void;
}
let port: EnginePort | null = null;
let nextId = 1;

ipcRenderer.on('paramzoo:engine-port', (event) => {
  port = (event.ports[0] as unknown as EnginePort | undefined) ?? null;
  if (!port) return;
  port.onmessage = (message) => {
    const data = message.data;
    if ('event' in data) {
      for (const listener of listeners) listener(data.event);
      return;
    }
    const waiter = pending.get(data.id);
    if (!waiter) return;
    pending.delete(data.id);
    if (data.ok) waiter.resolve(data.result);
    else waiter.reject(Object.assign(new Error(data.error.message), data.error));
  };
  port.start();
  for (const message of queued.splice(0)) port.postMessage(message);
});

const api: ParamZooApi = {
  capabilities: { nativeDialogs: true },
  request(method, params) {
    const message: ClientMessage = { id: nextId++, method, params };
    return new Promise((resolve, reject) => {
      pending.set(message.id, { resolve: resolve as (value: unknown) => void, reject });
      if (port) port.postMessage(message);
      else queued.push(message);
    });
  },
  subscribe(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  choosePaths(request) {
    return ipcRenderer.invoke('paramzoo:dialog', request);
  },
};

contextBridge.exposeInMainWorld('paramzoo', api);
