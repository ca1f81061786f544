// What the app:// protocol serves: files of the built renderer (renderer/dist) and nothing else.
import { extname, join, relative, isAbsolute, sep } from 'node:path';
import { APP_HOST, APP_SCHEME } from './app-url.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

export interface AppFile {
  path: string;
  contentType: string;
}

/**
 * The file under `root` an app:// request names, or null (then the answer is 404): another host,
 * a method other than GET/HEAD, a path that leaves `root` ('..', encoded or not, backslashes, NUL).
 */
export function resolveAppFile(root: string, requestUrl: string, method = 'GET'): AppFile | null {
  if (method !== 'GET' && method !== 'HEAD') return null;
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host !== APP_HOST) return null;
  let path: string;
  try {
    path = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (path === '/' || path === '') path = '/index.html';
  if (path.includes('\0') || path.includes('\\') || path.split('/').some((part) => part === '..')) return null;
  const file = join(root, ...path.split('/').filter(Boolean));
  const inside = relative(root, file);
  if (inside === '' || inside.startsWith(`..${sep}`) || inside === '..' || isAbsolute(inside)) return null;
  return { path: file, contentType: TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' };
}
