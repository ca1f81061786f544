// The renderer's choice of host (renderer/src/lib/host.ts), under Node: what window.paramzoo
// announces decides whether Import and Export use native paths or uploads and downloads.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitiesOf, droppedPaths, exportMode, importMode } from '../renderer/src/lib/host.js';
import { onImportRequest, requestImport } from '../renderer/src/lib/import-request.js';

const fn = (): never => {
  throw new Error('not called');
};
/** window.paramzoo as preload/preload.cts exposes it */
const preload = { capabilities: { nativeDialogs: true, showInFolder: true }, request: fn, subscribe: fn, choosePaths: fn, showInFolder: fn, pathForFile: fn };

test('no window.paramzoo: the WebSocket transport, uploads and HTTP downloads', () => {
  const caps = capabilitiesOf(undefined);
  assert.deepEqual(caps, { transport: 'websocket', nativePaths: false, droppedPaths: false, showInFolder: false, uploads: true });
  assert.equal(importMode(caps), 'upload');
  assert.equal(exportMode(caps), 'download');
});

test('the Electron preload: native pickers, dropped paths, save dialog and show in folder; no uploads', () => {
  const caps = capabilitiesOf(preload);
  assert.deepEqual(caps, { transport: 'electron', nativePaths: true, droppedPaths: true, showInFolder: true, uploads: false });
  assert.equal(importMode(caps), 'paths');
  assert.equal(exportMode(caps), 'save-dialog');
});

test('a capability is used only when announced and its function is there', () => {
  const { pathForFile: _drop, ...older } = preload;
  assert.equal(capabilitiesOf(older).droppedPaths, false, 'a preload without pathForFile: no dropped paths, pickers still work');
  assert.equal(capabilitiesOf(older).nativePaths, true);

  const noDialogs = capabilitiesOf({ ...preload, capabilities: { nativeDialogs: false, showInFolder: true } });
  assert.deepEqual(noDialogs, { transport: 'electron', nativePaths: false, droppedPaths: false, showInFolder: true, uploads: false });
  assert.equal(importMode(noDialogs), 'none', 'the Electron transport cannot upload either');

  assert.equal(capabilitiesOf({ ...preload, capabilities: { nativeDialogs: true, showInFolder: false } }).showInFolder, false);
  const { showInFolder: _show, choosePaths: _choose, ...bare } = preload;
  assert.deepEqual(capabilitiesOf(bare), { transport: 'electron', nativePaths: false, droppedPaths: false, showInFolder: false, uploads: false });
  // A preload that announces nothing still offers what it has.
  assert.equal(capabilitiesOf({ choosePaths: fn }).nativePaths, true);
});

test('dropped files: their paths in drop order, no repeats; none on disk gives null', () => {
  const paths: Record<string, string> = { a: '/zoo/a.pth', b: '/zoo/adapter', c: '', d: '/zoo/a.pth' };
  assert.deepEqual(
    droppedPaths(['a', 'b', 'c', 'd'], (f) => paths[f]!),
    ['/zoo/a.pth', '/zoo/adapter'],
  );
  assert.equal(
    droppedPaths(['c'], (f) => paths[f]!),
    null,
  );
  assert.equal(droppedPaths([], fn), null);
  assert.deepEqual(
    droppedPaths(['x', 'a'], (f) => (f === 'x' ? fn() : paths[f]!)),
    ['/zoo/a.pth'],
    'a file the host cannot place is skipped',
  );
});

test('Ctrl/Cmd+O before the Zoos view is mounted waits for its picker; once mounted it opens at once', () => {
  const opened: string[] = [];
  requestImport();
  const off = onImportRequest(() => opened.push('first'));
  assert.deepEqual(opened, ['first'], 'the waiting request is served on mount');
  requestImport();
  assert.deepEqual(opened, ['first', 'first']);
  off();
  const offAgain = onImportRequest(() => opened.push('second'));
  assert.deepEqual(opened, ['first', 'first'], 'nothing was waiting');
  offAgain();
});
