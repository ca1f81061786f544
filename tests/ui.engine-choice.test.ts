// Which engine the page uses (renderer/src/lib/engine-choice.ts), under Node: the desktop app's own
// engine or a remote one through an SSH tunnel, and the browser build's page server; with a remote
// engine the page does what a browser does (uploads, downloads), since its paths are not this computer's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkRemoteAddress, chooseEngine } from '../renderer/src/lib/engine-choice.js';
import { capabilitiesOf, exportMode, importMode } from '../renderer/src/lib/host.js';

const fn = (): never => {
  throw new Error('not called');
};
/** window.paramzoo as preload/preload.cts exposes it */
const preload = { capabilities: { nativeDialogs: true, showInFolder: true }, request: fn, subscribe: fn, choosePaths: fn, showInFolder: fn, pathForFile: fn };
const TOKEN = 'Xq3_-9aZ0bc';
const noPageToken = (): never => {
  throw new Error('the page token is read only when the page server is the engine (reading it edits the address bar)');
};

test('the address serve printed, through a tunnel: accepted, with its socket, download base and label', () => {
  assert.deepEqual(checkRemoteAddress(`http://127.0.0.1:8370/?token=${TOKEN}`), {
    ok: true,
    remote: { address: `http://127.0.0.1:8370/?token=${TOKEN}`, socketUrl: 'ws://127.0.0.1:8370/ws', httpBase: 'http://127.0.0.1:8370/', token: TOKEN, label: '127.0.0.1:8370' },
  });
  // Pasted with spaces or a route; another local port of the tunnel; the other loopback name.
  const pasted = checkRemoteAddress(`  http://127.0.0.1:9000/#/zoos?token=x&token=${TOKEN}  `);
  assert.equal(pasted.ok, false, 'a token after the # is no query: the address is not the one serve printed');
  const routed = checkRemoteAddress(`  http://127.0.0.1:9000/?token=${TOKEN}#/zoos \n`);
  assert.ok(routed.ok);
  assert.equal(routed.remote.address, `http://127.0.0.1:9000/?token=${TOKEN}`);
  const localhost = checkRemoteAddress(`http://localhost:8370/?token=${TOKEN}`);
  assert.ok(localhost.ok);
  assert.equal(localhost.remote.socketUrl, 'ws://localhost:8370/ws');
});

test('addresses that are not a tunnel to serve are refused, saying why and what to do', () => {
  const refused: [string, RegExp][] = [
    [`http://gpu-box:8370/?token=${TOKEN}`, /'gpu-box' is not this computer: .*SSH tunnel\. Run ssh -L 8370:127\.0\.0\.1:8370 gpu-box here/],
    [`http://10.0.0.5:8370/?token=${TOKEN}`, /'10\.0\.0\.5' is not this computer/],
    [`http://127.0.0.2:8370/?token=${TOKEN}`, /'127\.0\.0\.2' is not this computer/],
    [`http://127.0.0.1.nip.io:8370/?token=${TOKEN}`, /is not this computer/],
    // Chromium's CSP cannot name an IPv6 address, so the app could not connect to one.
    [`http://[::1]:8370/?token=${TOKEN}`, /'\[::1\]' is this computer, but the app cannot connect to IPv6 addresses: use 127\.0\.0\.1 with the same port/],
    [`http://[2001:db8::1]:8370/?token=${TOKEN}`, /'\[2001:db8::1\]' is not this computer/],
    ['http://127.0.0.1:8370/', /has no token: paste the whole address paramzoo serve printed, with its \?token=/],
    ['http://127.0.0.1:8370/?token=', /has no token/],
    ['http://127.0.0.1:8370/?token=a%20b', /token in the address is damaged/],
    [`https://127.0.0.1:8370/?token=${TOKEN}`, /must start with http:\/\/ \(not https:\/\/\)/],
    [`ws://127.0.0.1:8370/ws?token=${TOKEN}`, /must start with http:\/\/ \(not ws:\/\/\)/],
    [`file:///tmp/x?token=${TOKEN}`, /must start with http:\/\//],
    [`http://u:p@127.0.0.1:8370/?token=${TOKEN}`, /user name or password/],
    ['127.0.0.1:8370', /'127.0.0.1:8370' is not an address/],
    ['paramzoo serve', /'paramzoo serve' is not an address: paste the one paramzoo serve printed, like http:\/\/127\.0\.0\.1:8370\/\?token=/],
    ['', /is not an address/],
  ];
  for (const [address, reason] of refused) {
    const checked = checkRemoteAddress(address);
    assert.equal(checked.ok, false, address);
    if (!checked.ok) assert.match(checked.reason, reason, address);
  }
});

test('the desktop app: its own engine through the preload, with native paths, until a remote one is stored', () => {
  const own = chooseEngine({ preload, storedRemote: null, pageUrl: 'app://paramzoo/index.html', pageToken: noPageToken });
  assert.deepEqual(own, { kind: 'app', capabilities: capabilitiesOf(preload) });
  assert.equal(importMode(own.capabilities), 'paths');
  assert.equal(exportMode(own.capabilities), 'save-dialog');
});

test("a remote engine in the desktop app: a WebSocket through the tunnel, and the browser's ways to import and export", () => {
  const remote = chooseEngine({ preload, storedRemote: `http://127.0.0.1:8370/?token=${TOKEN}`, pageUrl: 'app://paramzoo/index.html', pageToken: noPageToken });
  assert.equal(remote.kind, 'remote');
  assert.ok(remote.kind === 'remote');
  assert.equal(remote.remote.socketUrl, 'ws://127.0.0.1:8370/ws');
  assert.equal(remote.remote.token, TOKEN);
  assert.equal(remote.remote.httpBase, 'http://127.0.0.1:8370/', 'download links are the remote server’s, not app://');
  // The capabilities are the browser build's, whatever the preload offers: no native dialogs, no paths, no show in folder.
  assert.deepEqual(remote.capabilities, capabilitiesOf(undefined));
  assert.deepEqual(remote.capabilities, { transport: 'websocket', nativePaths: false, droppedPaths: false, showInFolder: false, uploads: true });
  assert.equal(importMode(remote.capabilities), 'upload');
  assert.equal(exportMode(remote.capabilities), 'download');
});

test('a stored remote address that no longer passes the check: this computer’s engine, saying why', () => {
  const choice = chooseEngine({ preload, storedRemote: `http://gpu-box:8370/?token=${TOKEN}`, pageUrl: 'app://paramzoo/index.html', pageToken: noPageToken });
  assert.equal(choice.kind, 'app');
  assert.ok(choice.kind === 'app');
  assert.match(choice.refusedRemote ?? '', /'gpu-box' is not this computer/);
  assert.equal(importMode(choice.capabilities), 'paths');
});

test("the browser build: the page's own server with the page's token; a stored remote address means nothing there", () => {
  for (const storedRemote of [null, `http://127.0.0.1:9999/?token=${TOKEN}`]) {
    const choice = chooseEngine({ preload: undefined, storedRemote, pageUrl: 'http://127.0.0.1:8370/#/zoos', pageToken: () => 'page-token' });
    assert.deepEqual(choice, {
      kind: 'served',
      socketUrl: 'ws://127.0.0.1:8370/ws',
      httpBase: 'http://127.0.0.1:8370/#/zoos',
      token: 'page-token',
      capabilities: capabilitiesOf(undefined),
    });
  }
  const tls = chooseEngine({ preload: undefined, storedRemote: null, pageUrl: 'https://localhost:8443/', pageToken: () => null });
  assert.ok(tls.kind === 'served');
  assert.equal(tls.socketUrl, 'wss://localhost:8443/ws');
  assert.equal(tls.token, null);
});
