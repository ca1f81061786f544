// The desktop app's remote engine (renderer/src/lib/engine-choice.ts, EngineSwitch.svelte), in
// Chromium: Electron cannot run here, so the browser build is given a stand-in for the preload
// before it loads, and believes it is in the app.
//
// What stands in for what, and so what is and is not covered:
// - "This computer's engine" is a real `paramzoo serve` (A) on one data folder, reached by the fake
//   preload over A's own WebSocket (the page is A's, so A accepts its Origin). The real preload's
//   MessagePort is not exercised here (tests/main.preload-bridge.test.ts does that).
// - The remote engine is a second real `paramzoo serve` (B) on another data folder, reached the way
//   the app reaches it: a WebSocket with B's token in Sec-WebSocket-Protocol, to a loopback address
//   (the local end of the tunnel). Chromium sends the page's Origin (http://127.0.0.1:A), which B
//   rightly refuses; the real app sends app://paramzoo. So that local end is a small TCP relay that
//   forwards everything to B and only rewrites the handshake's Origin to app://paramzoo, as
//   Electron would send it (the relay plays the SSH tunnel and Electron's Origin; B's own checks of
//   Host, Origin and token all run).
// - The app's CSP is checked on its own in Chromium (the last test).
// Not covered: a real Electron window (its app:// page, the real preload), a real `ssh -L`, and the
// export download with a remote engine (an http link, which in the app main hands to the system browser).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { websocketProtocols } from '../engine/hosts/web-server.js';
import { APP_ORIGIN } from '../main/app-url.js';
import { CONTENT_SECURITY_POLICY } from '../main/csp.js';
import { tempDir } from './helpers/tmp.js';
import { accessibilityViolations, desktopContext, launchChromium, SHOTS, type Served, serious, skipWithoutChromium, startServe, stopServe, watchedPage } from './helpers/ui.js';

const skip = skipWithoutChromium;
const localData = tempDir('paramzoo-ui-local-');
const remoteData = tempDir('paramzoo-ui-remote-');
let local: Served;
let remote: Served;
let tunnel: Server;
let tunnelPort: number;
const relayed: Socket[] = [];
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

/** One request to a serve, as any WebSocket client of it. */
function request(served: Served, method: string, params: unknown): Promise<unknown> {
  const socket = new WebSocket(`ws://${served.url.host}/ws`, websocketProtocols(served.token));
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('open', () => socket.send(JSON.stringify({ id: 1, method, params })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { id?: number; ok?: boolean; result?: unknown; error?: { message: string } };
      if (message.id !== 1) return;
      socket.close();
      if (message.ok) resolve(message.result);
      else reject(new Error(message.error?.message));
    });
  });
}

/** The local end of the "tunnel" to B: forwards each connection, its first request's Origin rewritten to the app's. */
function startTunnel(to: number): Promise<Server> {
  const server = createServer((client) => {
    relayed.push(client);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const headers = head
        .subarray(0, end)
        .toString('latin1')
        .replace(/^Origin: .*$/im, `Origin: ${APP_ORIGIN}`);
      const upstream = tcpConnect(to, '127.0.0.1', () => {
        upstream.write(Buffer.concat([Buffer.from(headers, 'latin1'), head.subarray(end)]));
        client.pipe(upstream).pipe(client);
      });
      relayed.push(upstream);
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    };
    client.on('data', onData);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/**
 * The stand-in for preload/preload.cts: the same surface (capabilities, request, subscribe, the
 * native pickers), its requests carried to engine A over A's WebSocket.
 */
function fakePreload({ socketUrl, token }: { socketUrl: string; token: string }): void {
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void }>();
  const listeners = new Set<(event: unknown) => void>();
  let nextId = 1;
  const ws = new WebSocket(socketUrl, ['paramzoo', `token.${token}`]);
  const opened = new Promise<void>((resolve) => ws.addEventListener('open', () => resolve()));
  ws.addEventListener('message', (message) => {
    const data = JSON.parse(String(message.data)) as { id: number; ok: boolean; result: unknown; error: unknown; event?: unknown };
    if (data.event) {
      for (const listener of listeners) listener(data.event);
      return;
    }
    const waiter = pending.get(data.id);
    pending.delete(data.id);
    if (data.ok) waiter?.resolve(data.result);
    else waiter?.reject(data.error);
  });
  (globalThis as unknown as { paramzoo: unknown }).paramzoo = {
    capabilities: { nativeDialogs: true, showInFolder: true },
    async request(method: string, params: unknown) {
      await opened;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    },
    subscribe(listener: (event: unknown) => void) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    choosePaths: async () => [],
    showInFolder: async () => undefined,
    pathForFile: () => '',
  };
}

before(async () => {
  if (skip) return;
  mkdirSync(SHOTS, { recursive: true });
  [local, remote] = await Promise.all([startServe(localData), startServe(remoteData)]);
  await request(local, 'zoo.create', { name: 'on-this-computer' });
  await request(remote, 'zoo.create', { name: 'on-the-gpu-box' });
  tunnel = await startTunnel(Number(remote.url.port));
  tunnelPort = (tunnel.address() as { port: number }).port;
  browser = await launchChromium();
  const context = await desktopContext(browser);
  // As source text: tsx compiles this file with esbuild's keepNames, whose __name() helper the page lacks.
  const engineA = JSON.stringify({ socketUrl: `ws://${local.url.host}/ws`, token: local.token });
  await context.addInitScript({ content: `(() => { const __name = (f) => f; (${fakePreload.toString()})(${engineA}); })();` });
  page = await watchedPage(context, pageErrors);
});

after(async () => {
  await browser?.close();
  for (const socket of relayed) socket.destroy();
  tunnel?.close();
  await Promise.all([stopServe(local), stopServe(remote)]);
});

async function statusEngine(): Promise<string> {
  return (await page.getByTestId('engine-source').innerText()).trim();
}

async function zooNames(): Promise<string> {
  return page.getByTestId('zoo-table').innerText();
}

test("the desktop app connects to a remote engine through a tunnel, uses the browser's ways there, and goes back", { skip }, async () => {
  // A page of A without its token: only the (fake) preload reaches an engine.
  await page.goto(`http://${local.url.host}/#/zoos`);
  await page.getByRole('cell', { name: 'on-this-computer', exact: true }).waitFor();
  assert.equal(await statusEngine(), 'Engine: this computer');
  assert.equal(await page.getByTestId('data-dir').innerText(), localData);
  assert.equal(await page.getByTestId('choose-files').count(), 1, "this computer's engine: native pickers");

  // An address that is not a tunnel's local end is refused in the dialog; nothing changes.
  await page.getByRole('button', { name: 'Connect to a remote engine…' }).click();
  const dialog = page.getByRole('dialog', { name: 'Connect to a remote engine' });
  await dialog.waitFor();
  assert.deepEqual(serious(await accessibilityViolations(page)), []);
  const address = dialog.getByLabel('Address paramzoo serve printed');
  await address.fill(`http://gpu-box:${remote.url.port}/?token=${remote.token}`);
  await dialog.getByRole('button', { name: 'Connect' }).click();
  assert.match(await dialog.getByTestId('remote-refused').innerText(), /'gpu-box' is not this computer: the app reaches a remote engine only through an SSH tunnel/);
  await address.fill(`http://127.0.0.1:${tunnelPort}/`);
  await dialog.getByRole('button', { name: 'Connect' }).click();
  assert.match(await dialog.getByTestId('remote-refused').innerText(), /the address has no token/);
  await page.screenshot({ path: join(SHOTS, 'remote-engine-dialog.png') });

  // A token the remote engine does not know (serve restarted there): it refuses, and the page says how to go back.
  await address.fill(`http://127.0.0.1:${tunnelPort}/?token=${remote.token.slice(0, -1)}x`);
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: 'Connect' }).click()]);
  await page.getByRole('heading', { level: 1, name: 'Not connected to the remote engine' }).waitFor();
  assert.equal(await statusEngine(), `Engine: remote 127.0.0.1:${tunnelPort}`);

  // The address B printed, through the tunnel: B's data folder and zoos, uploads instead of native pickers.
  await page.getByRole('button', { name: 'Change…' }).click();
  await address.fill(`  http://127.0.0.1:${tunnelPort}/?token=${remote.token}  `);
  await Promise.all([page.waitForEvent('load'), dialog.getByRole('button', { name: 'Connect' }).click()]);
  await page.getByRole('cell', { name: 'on-the-gpu-box', exact: true }).waitFor();
  assert.equal(await statusEngine(), `Engine: remote 127.0.0.1:${tunnelPort}`);
  assert.equal(await page.getByTestId('data-dir').innerText(), remoteData);
  assert.doesNotMatch(await zooNames(), /on-this-computer/);
  assert.equal(await page.getByTestId('choose-files').count(), 0, 'no native picker: its paths would be on this computer');
  assert.equal(await page.getByTestId('upload-files').count(), 1, 'uploads, as in a browser');
  assert.equal(await page.locator('.conn').innerText(), 'open');
  // It stays chosen across a restart of the window.
  await page.reload();
  await page.getByRole('cell', { name: 'on-the-gpu-box', exact: true }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'remote-engine.png') });
  assert.deepEqual(serious(await accessibilityViolations(page)), []);
  // The remote engine runs what the page asks: a zoo created here is in B's catalog.
  await page.locator('input[name="zoo-name"]').fill('made-remotely');
  await page.getByRole('button', { name: 'Create zoo' }).click();
  await page.getByRole('cell', { name: 'made-remotely', exact: true }).waitFor();
  assert.deepEqual(((await request(remote, 'zoo.list', {})) as { name: string }[]).map((z) => z.name).sort(), ['made-remotely', 'on-the-gpu-box']);

  // Back to this computer's engine.
  await Promise.all([page.waitForEvent('load'), page.getByRole('button', { name: "Use this computer's engine" }).click()]);
  await page.getByRole('cell', { name: 'on-this-computer', exact: true }).waitFor();
  assert.equal(await statusEngine(), 'Engine: this computer');
  assert.equal(await page.getByTestId('data-dir').innerText(), localData);
  assert.doesNotMatch(await zooNames(), /on-the-gpu-box|made-remotely/);
  assert.equal(await page.getByTestId('choose-files').count(), 1);
  assert.deepEqual(pageErrors, []);
});

test("the app's CSP, in Chromium: WebSockets to a tunnel's local end (127.0.0.1, localhost) only", { skip }, async () => {
  const server = createHttpServer((_request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html', 'Content-Security-Policy': CONTENT_SECURITY_POLICY });
    response.end('<!doctype html><title>csp</title>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const context = await browser.newContext();
  try {
    const csp = await context.newPage();
    const warnings: string[] = [];
    csp.on('console', (message) => warnings.push(message.text()));
    await csp.goto(`http://127.0.0.1:${(server.address() as { port: number }).port}/`);
    // Nothing listens on this port: a WebSocket the CSP allows fails to connect, one it forbids is a violation.
    const blocked = await csp.evaluate(async () => {
      const violations: string[] = [];
      const page = globalThis as unknown as { addEventListener(type: string, listener: (event: { blockedURI: string }) => void): void };
      page.addEventListener('securitypolicyviolation', (event) => violations.push(event.blockedURI));
      for (const host of ['127.0.0.1', 'localhost', '[::1]', '127.0.0.2', '10.0.0.5', 'gpu-box.example']) new WebSocket(`ws://${host}:47913/ws`);
      // (wss://127.0.0.1 is allowed too: CSP lets a ws: source match its secure upgrade.)
      await new Promise((resolve) => setTimeout(resolve, 500));
      return violations.sort();
    });
    assert.deepEqual(blocked, ['ws://10.0.0.5:47913/ws', 'ws://127.0.0.2:47913/ws', 'ws://[::1]:47913/ws', 'ws://gpu-box.example:47913/ws']);
    assert.deepEqual(
      warnings.filter((w) => /invalid source|ignored/.test(w)),
      [],
      'every source of the policy is one Chromium understands',
    );
  } finally {
    await context.close();
    server.close();
  }
});
