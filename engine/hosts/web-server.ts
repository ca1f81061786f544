// `paramzoo serve`'s server: the engine contract over a WebSocket at /ws?token=…, and the built
// renderer (or a page saying it is not built) over HTTP, on a loopback address only. The token
// guards the engine; the static files hold no user data and are served without it.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import { EngineError } from '../errors.js';
import type { EngineService } from '../service.js';
import { createConnection } from './connection.js';
import { sendText, serveStaticFile, uiNotBuiltPage } from './static-files.js';

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
  /** what a user opens: http://HOST:PORT/?token=… */
  url: string;
  /** the engine: ws://HOST:PORT/ws?token=… */
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

export async function startWebServer(options: WebServerOptions): Promise<WebServer> {
  const host = options.host ?? '127.0.0.1';
  if (!isLoopbackHost(host)) {
    throw new EngineError('bad_option', `--host ${host} is not a loopback address: paramzoo serve listens on this machine only (127.0.0.1, ::1 or localhost)`, {
      hint: 'to use the engine from another machine, forward the port over SSH: ssh -L PORT:127.0.0.1:PORT THIS_MACHINE',
    });
  }
  const token = options.token ?? randomBytes(32).toString('base64url');
  const expected = Buffer.from(token);
  const tokenMatches = (given: string | null): boolean => {
    const candidate = Buffer.from(given ?? '');
    return candidate.length === expected.length && timingSafeEqual(candidate, expected);
  };
  const { service, uiDir } = options;

  const handleRequest = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const url = new URL(request.url ?? '/', 'http://loopback');
    if (url.pathname === '/ws') {
      if (!tokenMatches(url.searchParams.get('token'))) return sendText(response, 401, 'wrong or missing token: use the address paramzoo serve printed\n');
      return sendText(response, 426, 'this is the engine\'s WebSocket endpoint: connect with a WebSocket client\n', { Upgrade: 'websocket' });
    }
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
  const sockets = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = new URL(request.url ?? '/', 'http://loopback');
    if (url.pathname !== '/ws') return refuseUpgrade(socket, 404, 'Not Found', 'the engine\'s WebSocket is at /ws?token=…');
    if (!tokenMatches(url.searchParams.get('token'))) return refuseUpgrade(socket, 401, 'Unauthorized', 'wrong or missing token: use the address paramzoo serve printed');
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
    websocketUrl: `ws://${authority}/ws?token=${token}`,
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

function serveSocket(service: EngineService, ws: WebSocket): void {
  const connection = createConnection(service, (message) => {
    if (ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
  });
  // Binary frames are read as UTF-8 too: JSON is JSON, whichever frame type a client library picks.
  ws.on('message', (data: RawData) => void connection.receiveText(rawText(data)));
  ws.on('close', () => connection.close());
  // A broken client socket (e.g. an oversized frame) ends that client only.
  ws.on('error', (error) => console.error('paramzoo: a WebSocket client failed:', error.message));
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return (Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');
}

function refuseUpgrade(socket: Duplex, status: number, reason: string, text: string): void {
  const body = `${text}\n`;
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  if (error.code === 'EADDRINUSE') {
    return new EngineError('port_in_use', `port ${port} on ${host} is already in use`, { hint: 'choose another with --port, or --port 0 for a free one' });
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES') {
    return new EngineError('cannot_listen', `paramzoo serve cannot listen on ${host}:${port} (${error.code})`, { hint: 'use --host 127.0.0.1 and a port above 1023' });
  }
  return error;
}
