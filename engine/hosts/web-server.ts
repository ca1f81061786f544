// `paramzoo serve`'s server: the engine contract over a WebSocket at /ws, and the built renderer
// (or a page saying it is not built) over HTTP, on a loopback address only. DESIGN.md "Who may
// talk to the engine": the token travels in the Sec-WebSocket-Protocol header (never in a URL
// the server reads), the Origin must be the page's own or the desktop app's (app://), the Host a
// loopback name (no DNS rebinding); anything else is refused before any request runs. The static
// files hold no user data and are served without the token; downloads need a one-time ticket.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { EngineError } from '../errors.js';
import type { EngineService } from '../service.js';
import { createConnection } from './connection.js';
import { sendText, serveStaticFile, uiNotBuiltPage } from './static-files.js';
import { downloadSent, prepareTransfers, redeemDownloadTicket } from '../service-app.js';
import { createReadStream, statSync } from 'node:fs';

export interface WebServerOptions {
  service: EngineService;
  /** a loopback address: 127.0.0.1 (default), another 127.x.y.z, ::1 or localhost */
  host?: string;
  /** 0 picks a free port */
  port: number;
  /** the built renderer (renderer/dist); served when it exists */
  uiDir: string;
  /** default: 32 random bytes, base64url */
  token?: string;
}

export interface WebServer {
  host: string;
  port: number;
  token: string;
  /** what a user opens: http://HOST:PORT/?token=… (the page moves the token into the subprotocol and out of the address bar) */
  url: string;
  /** the engine: ws://HOST:PORT/ws, with the subprotocols websocketProtocols(token) */
  websocketUrl: string;
  /** closes every client socket and the listener; the service stays open (its owner closes it) */
  close(): Promise<void>;
}

/** Requests carry ids and paths, never tensors: a frame larger than this is refused before it is buffered. */
const MAX_FRAME_BYTES = 1 << 20;
/** How long clients get to answer the closing handshake before their sockets are cut. */
const CLOSE_GRACE_MS = 500;

export function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The subprotocol the engine speaks; the server answers with it. */
export const ENGINE_PROTOCOL = 'paramzoo';
/** The subprotocol that carries the token: `token.` + the token (base64url fits a protocol name). */
export const TOKEN_PROTOCOL_PREFIX = 'token.';

/** What a client offers in Sec-WebSocket-Protocol: `new WebSocket(url, websocketProtocols(token))`. */
export function websocketProtocols(token: string): string[] {
  return [ENGINE_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${token}`];
}

/** A Host header naming this machine: a loopback name with an optional port (a tunnel's local port may differ from ours). */
export function isLoopbackHostHeader(header: string | undefined): boolean {
  if (!header) return false;
  const match = /^(\[[^\]]+\]|[^:[\]]+)(?::(\d{1,5}))?$/.exec(header.trim().toLowerCase());
  if (!match) return false;
  const name = match[1]!.startsWith('[') ? match[1]!.slice(1, -1) : match[1]!;
  return isLoopbackHost(name);
}

/**
 * A browser always sends Origin with a WebSocket handshake: it must be the served page's own
 * (`http://` + the Host the browser used) or the desktop app's `app://` scheme. A client that is
 * not a browser sends none and cannot be driven by another site; it still needs the token.
 */
export function isAllowedOrigin(origin: string | undefined, hostHeader: string | undefined): boolean {
  if (origin === undefined) return true;
  if (/^app:\/\/[a-z0-9.-]*$/i.test(origin)) return true;
  if (!hostHeader) return false;
  return origin.toLowerCase() === `http://${hostHeader.trim().toLowerCase()}`;
}

/** Why a handshake is refused, or null when it may go on. Checked before the socket exists. */
export function refusalOf(request: IncomingMessage, tokenMatches: (given: string | null) => boolean): { status: number; reason: string; text: string } | null {
  const host = request.headers.host;
  if (!isLoopbackHostHeader(host)) {
    return { status: 403, reason: 'Forbidden', text: `Host '${host ?? ''}' is not a loopback name: open the address paramzoo serve printed (127.0.0.1 or localhost)` };
  }
  const origin = request.headers.origin;
  if (!isAllowedOrigin(origin, host)) {
    return { status: 403, reason: 'Forbidden', text: `Origin '${origin}' may not use this engine: only the page paramzoo serve serves (or the desktop app) may` };
  }
  const offered = String(request.headers['sec-websocket-protocol'] ?? '')
    .split(',')
    .map((p) => p.trim());
  const token = offered.find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX))?.slice(TOKEN_PROTOCOL_PREFIX.length) ?? null;
  if (!offered.includes(ENGINE_PROTOCOL) || !tokenMatches(token)) {
    return { status: 401, reason: 'Unauthorized', text: 'wrong or missing token: open the address paramzoo serve printed (the page sends its token in Sec-WebSocket-Protocol)' };
  }
  return null;
}

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new EngineError('bad_option', `'host' ${host} is not a loopback address: the server listens on this machine only (127.0.0.1, ::1 or localhost)`, {
      hint: 'to use the engine from another machine, forward the port over SSH: ssh -L PORT:127.0.0.1:PORT THIS_MACHINE',
      fields: ['host'],
    });
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const expected = Buffer.from(token);
  const tokenMatches = (given: string | null): boolean => {
    const candidate = Buffer.from(given ?? '');
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  };
  const { service, uiDir } = options;
  prepareTransfers(service);

  const handleRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://loopback');
    if (!isLoopbackHostHeader(request.headers.host)) return sendText(response, 403, 'this server answers only to a loopback name (127.0.0.1 or localhost)\n');
    if (url.pathname === '/ws') {
      return sendText(response, 426, "this is the engine's WebSocket endpoint: connect with a WebSocket client and the token in Sec-WebSocket-Protocol\n", { Upgrade: 'websocket' });
    }
    if (url.pathname.startsWith('/download/')) return serveDownload(service, url.pathname.slice('/download/'.length), request, response);
    if (request.method !== 'GET' && request.method !== 'HEAD') return sendText(response, 405, 'only GET and HEAD\n', { Allow: 'GET, HEAD' });
    if (existsSync(uiDir)) return serveStaticFile(uiDir, request, response, url.pathname);
    if (url.pathname !== '/' && url.pathname !== '/index.html') return sendText(response, 404, 'not found (the UI is not built)\n');
    const page = uiNotBuiltPage(uiDir);
    response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Content-Length': Buffer.byteLength(page), 'Cache-Control': 'no-cache' });
    response.end(request.method === 'HEAD' ? undefined : page);
  };

  const server = createServer((request, response) => {
    handleRequest(request, response).catch((error: unknown) => {
      console.error('paramzoo: an HTTP request failed:', error);
      if (!response.headersSent) sendText(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  const sockets = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    // Answer with the engine's protocol, never echo the token.
    handleProtocols: (protocols) => (protocols.has(ENGINE_PROTOCOL) ? ENGINE_PROTOCOL : false),
  });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://loopback');
    if (url.pathname !== '/ws') return refuseUpgrade(socket, 404, 'Not Found', "the engine's WebSocket is at /ws");
    const refusal = refusalOf(request, tokenMatches);
    if (refusal) return refuseUpgrade(socket, refusal.status, refusal.reason, refusal.text);
    sockets.handleUpgrade(request, socket, head, (ws) => serveSocket(service, ws));
  });

  await new Promise<void>((resolvePromise, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, options.port)));
    server.listen(options.port, host, () => resolvePromise());
  });
  server.on('error', (error) => console.error('paramzoo: the server failed:', error));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    host,
    port,
    token,
    url: `http://${authority}/?token=${token}`,
    websocketUrl: `ws://${authority}/ws`,
    async close() {
      for (const ws of sockets.clients) ws.close(1001, 'the engine is shutting down');
      const deadline = Date.now() + CLOSE_GRACE_MS;
      while (sockets.clients.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      for (const ws of sockets.clients) ws.terminate();
      await new Promise<void>((resolvePromise) => sockets.close(() => resolvePromise()));
      const closed = new Promise<void>((resolvePromise) => server.close(() => resolvePromise()));
      server.closeAllConnections();
      await closed;
    },
  };
}

/** GET /download/TICKET: the file of a one-time ticket (download.ticket), as an attachment; removed once sent. */
function serveDownload(service: EngineService, ticket: string, request: IncomingMessage, response: ServerResponse): void {
  const file = /^[A-Za-z0-9_-]{16,64}$/.test(ticket) ? redeemDownloadTicket(service, ticket) : null;
  if (!file) {
    sendText(response, 404, 'this download link is unknown, used or expired: export again\n');
    return;
  }
  response.writeHead(200, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': statSync(file.path).size,
    'Content-Disposition': `attachment; filename="${file.name.replace(/[^A-Za-z0-9._-]/g, '_')}"`,
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file.path)
    .on('error', () => response.destroy())
    .on('end', () => downloadSent(service, file.path))
    .pipe(response);
}

function serveSocket(service: EngineService, ws: WebSocket): void {
  const connection = createConnection(service, (message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  });
  // Text frames are requests; binary frames are upload chunks (engine/uploads.ts).
  ws.on('message', (data: RawData, isBinary: boolean) => {
    if (isBinary) void connection.receiveBinary(rawBytes(data));
    else void connection.receiveText(rawBytes(data).toString('utf8'));
  });
  ws.on('close', () => connection.close());
  // A broken client socket (e.g. an oversized frame) ends that client only.
  ws.on('error', (error) => console.error('paramzoo: a WebSocket client failed:', error.message));
}

function rawBytes(data: RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.isBuffer(data) ? data : Buffer.from(data);
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') {
    return new EngineError('port_in_use', `port ${port} on ${host} is already in use`, { hint: "choose another 'port', or 'port': 0 for a free one", fields: ['port'] });
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES') {
    return new EngineError('cannot_listen', `the server cannot listen on ${host}:${port} (${error.code})`, { hint: "use 'host': 127.0.0.1 and a 'port' above 1023", fields: ['host', 'port'] });
  }
  return error;
}
