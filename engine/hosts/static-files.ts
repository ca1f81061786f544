// The built renderer over HTTP for `paramzoo serve`: files below one folder, with their content
// types, never anything outside it. When the renderer is not built, one page that says so.
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, isAbsolute, join, relative, resolve } from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.wasm': 'application/wasm',
};

export function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/** Answers a GET/HEAD for a file of `root` (a folder's index.html for a folder); 404 for anything else. */
export async function serveStaticFile(root: string, request: IncomingMessage, response: ServerResponse, pathname: string): Promise<void> {
  const file = await resolveInside(root, pathname);
  if (!file) return sendText(response, 404, 'not found');
  response.writeHead(200, {
    'Content-Type': contentTypeOf(file.path),
    'Content-Length': file.size,
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-cache',
  });
  if (request.method === 'HEAD') {
    response.end();
    return;
  }
  createReadStream(file.path)
    .on('error', () => response.destroy())
    .pipe(response);
}

/** The file a URL path names inside `root`, following links only when they stay inside it; null otherwise. */
async function resolveInside(root: string, pathname: string): Promise<{ path: string; size: number } | null> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0')) return null;
  try {
    const realRoot = await realpath(root);
    let path = await realpath(resolve(realRoot, `.${decoded.startsWith('/') ? '' : '/'}${decoded}`));
    if (!isInside(realRoot, path)) return null;
    let info = await stat(path);
    if (info.isDirectory()) {
      path = await realpath(join(path, 'index.html'));
      if (!isInside(realRoot, path)) return null;
      info = await stat(path);
    }
    return info.isFile() ? { path, size: info.size } : null;
  } catch {
    return null;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export function sendText(response: ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/**
 * What the browser shows while renderer/dist does not exist. Honest about it, and without the
 * token: this page is served to anyone who can reach the port.
 */
export function uiNotBuiltPage(uiDir: string): string {
  const folder = escapeHtml(uiDir);
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>ParamZoo — UI not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 44rem; margin: 3rem auto; line-height: 1.5">
<h1>The ParamZoo UI is not built yet</h1>
<p>The engine is running, but there is no browser UI to show: <code>${folder}</code> does not exist.</p>
<p>Build the renderer (Svelte + Vite: <code>npm run build:ui</code>, see <code>renderer/README.md</code>) into <code>renderer/dist/</code>,
then reload this page with the address <code>paramzoo serve</code> printed.</p>
<p>Until then everything works from the command line: <code>paramzoo --help</code>.</p>
</body>
</html>
`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
