// Which engine the page talks to, decided once at start: in the desktop app (a preload is there)
// this computer's engine through the preload, or a remote engine the user chose (stored) reached
// by WebSocket through an SSH tunnel; in a browser the `paramzoo serve` that served the page.
// Plain TypeScript with no DOM or Node types, so the choice is tested under Node
// (tests/ui.engine-choice.test.ts).
// '.js': the Node tests' compiler (NodeNext) reads this file too; Vite resolves it to host.ts.
import { capabilitiesOf, type Capabilities, type PreloadLike } from './host.js';

/**
 * The names a tunnel's local end may have: `serve` listens on loopback only, so a remote engine is
 * reached through `ssh -L`. The same list as the app's CSP (main/csp.ts). Not [::1]: Chromium's CSP
 * refuses an IPv6 address as a source ("invalid source ... ignored"), so the app could never connect to it.
 */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost'];

export const EXAMPLE_ADDRESS = 'http://127.0.0.1:8370/?token=…';

export interface RemoteEngine {
  /** the address as stored and shown: http://HOST:PORT/?token=… */
  address: string;
  /** ws://HOST:PORT/ws */
  socketUrl: string;
  /** http://HOST:PORT/ : one-time download links are relative to it */
  httpBase: string;
  token: string;
  /** what the status bar names: HOST:PORT */
  label: string;
}

export type RemoteCheck = { ok: true; remote: RemoteEngine } | { ok: false; reason: string };

/**
 * The address `paramzoo serve` printed on the remote machine, as pasted: http://, a loopback name
 * (the local end of the tunnel), the token. Anything else is refused with what to do instead.
 */
export function checkRemoteAddress(text: string): RemoteCheck {
  const trimmed = text.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    return { ok: false, reason: `'${trimmed}' is not an address: paste the one paramzoo serve printed, like ${EXAMPLE_ADDRESS}` };
  }
  // serve speaks plain HTTP (the SSH tunnel is what encrypts): https or ws would never reach it.
  if (url.protocol !== 'http:') return { ok: false, reason: `the address must start with http:// (not ${url.protocol}//): paste the one paramzoo serve printed, like ${EXAMPLE_ADDRESS}` };
  if (url.username || url.password) return { ok: false, reason: 'the address may not carry a user name or password: paste the one paramzoo serve printed' };
  if (url.hostname.startsWith('[')) {
    const local = url.hostname === '[::1]' ? 'this computer, but' : 'not this computer, and';
    return { ok: false, reason: `'${url.hostname}' is ${local} the app cannot connect to IPv6 addresses: use 127.0.0.1 with the same port (ssh -L 8370:127.0.0.1:8370 …)` };
  }
  if (!LOOPBACK_NAMES.includes(url.hostname)) {
    return {
      ok: false,
      reason: `'${url.hostname}' is not this computer: the app reaches a remote engine only through an SSH tunnel. Run ssh -L 8370:127.0.0.1:8370 ${url.hostname} here, then paste the address with 127.0.0.1`,
    };
  }
  const token = url.searchParams.get('token') ?? '';
  if (!token) return { ok: false, reason: `the address has no token: paste the whole address paramzoo serve printed, with its ?token=… (${EXAMPLE_ADDRESS})` };
  // The token travels as a WebSocket subprotocol name; serve's tokens are base64url.
  if (!/^[A-Za-z0-9_-]+$/.test(token)) return { ok: false, reason: 'the token in the address is damaged (serve prints letters, digits, - and _ only): copy the address again' };
  const label = url.host;
  return {
    ok: true,
    remote: { address: `http://${label}/?token=${token}`, socketUrl: `ws://${label}/ws`, httpBase: `http://${label}/`, token, label },
  };
}

export type EngineChoice =
  | {
      /** this computer's engine through Electron's preload */
      kind: 'app';
      capabilities: Capabilities;
      /** a stored remote address that no longer passes the check, and why */
      refusedRemote?: string;
    }
  | {
      /** the `paramzoo serve` that served this page (the browser build) */
      kind: 'served';
      socketUrl: string;
      httpBase: string;
      token: string | null;
      capabilities: Capabilities;
    }
  | {
      /** a remote engine chosen in the desktop app: the browser build's ways (uploads, downloads), since its paths are not this computer's */
      kind: 'remote';
      remote: RemoteEngine;
      capabilities: Capabilities;
    };

export interface EngineChoiceInput {
  /** window.paramzoo, when the page is in the desktop app */
  preload: PreloadLike | undefined;
  /** the remote engine's address the user stored, or null */
  storedRemote: string | null;
  /** the page's address */
  pageUrl: string;
  /** the token of the page's own server: called only when that is the engine (it edits the address bar) */
  pageToken: () => string | null;
}

export function chooseEngine({ preload, storedRemote, pageUrl, pageToken }: EngineChoiceInput): EngineChoice {
  if (preload) {
    if (storedRemote === null) return { kind: 'app', capabilities: capabilitiesOf(preload) };
    const checked = checkRemoteAddress(storedRemote);
    if (checked.ok) return { kind: 'remote', remote: checked.remote, capabilities: capabilitiesOf(undefined) };
    return { kind: 'app', capabilities: capabilitiesOf(preload), refusedRemote: checked.reason };
  }
  // A browser talks to the server of its page only: a stored remote address means nothing here.
  const socket = new URL('ws', pageUrl);
  socket.protocol = socket.protocol === 'https:' ? 'wss:' : 'ws:';
  return { kind: 'served', socketUrl: socket.href, httpBase: pageUrl, token: pageToken(), capabilities: capabilitiesOf(undefined) };
}
