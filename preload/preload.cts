// window.paramzoo, and nothing else of Electron or Node, for the app's page. Requests and events go
// over a MessagePort straight to the engine (main hands it out to the app's own page only); dialogs
// and "show in folder" go to main over IPC. A sandboxed preload cannot load sibling files: the
// build bundles this file with what it imports (scripts/stage-app.js).
import { contextBridge, ipcRenderer, webUtils } from 'electron';
import { CHANNELS } from '../main/channels.js';
import type { ParamZooApi } from './api.js';
import { createBridge, plainError, type BridgePort } from './bridge.js';
import { createMenuRelay } from './menu-relay.js';

const bridge = createBridge();

ipcRenderer.on(CHANNELS.enginePort, (event) => {
  const port = event.ports[0] as unknown as BridgePort | undefined;
  if (port) bridge.attach(port);
});
ipcRenderer.on(CHANNELS.engineLost, (_event, error: unknown) => bridge.lost(plainError(error as object)));
ipcRenderer.on(CHANNELS.engineFailed, (_event, error: unknown) => bridge.failed(plainError(error as object)));
ipcRenderer.send(CHANNELS.connect);

// The DOM of the preload's world is the page's DOM: a KeyboardEvent dispatched here reaches the
// page's own shortcut handler.
interface KeyboardEventLike {
  key: string;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}
interface DomWindow {
  addEventListener(type: 'keydown', listener: (event: KeyboardEventLike) => void, capture: boolean): void;
  dispatchEvent(event: unknown): boolean;
}
declare const window: DomWindow;
declare const KeyboardEvent: new (type: string, init: object) => unknown;
const relay = createMenuRelay(process.platform);
window.addEventListener('keydown', (event) => relay.noteKey(event, Date.now()), true);
ipcRenderer.on(CHANNELS.menu, (_event, command: unknown) => {
  const init = relay.shortcutFor(command, Date.now());
  if (init) window.dispatchEvent(new KeyboardEvent('keydown', init));
});

const api: ParamZooApi = {
  capabilities: { nativeDialogs: true, showInFolder: true },
  request: (method, params) => bridge.request(method, params) as never,
  subscribe: (listener) => bridge.subscribe(listener),
  choosePaths: (request) => ipcRenderer.invoke(CHANNELS.dialog, request),
  showInFolder: (path) => ipcRenderer.invoke(CHANNELS.showInFolder, path),
  pathForFile: (file) => webUtils.getPathForFile(file),
};

contextBridge.exposeInMainWorld('paramzoo', api);
