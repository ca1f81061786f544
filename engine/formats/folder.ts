// Files inside checkpoint folders (config.json, adapter_config.json, the weights beside them) are
// read only when they are regular files inside that folder: a cloned model repository may ship a
// link to /proc/self/environ or ~/.ssh, and what a config holds is stored, printed and exported.
// One exception keeps the Hugging Face cache working: in `models--ORG--NAME/snapshots/REV/`,
// links into the same `models--ORG--NAME/` (its `blobs/`) are inside.
import { constants } from 'node:fs';
import { lstat, open, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, sep } from 'node:path';

export type FolderFile = { ok: true; path: string } | { ok: false; exists: boolean; problem: string };

/** The folder a link inside `folder` may point into (the folder itself, or a hub cache's repository folder). */
async function allowedRoot(folder: string): Promise<string> {
  const real = await realpath(folder);
  const snapshots = dirname(real);
  if (basename(snapshots) === 'snapshots' && basename(dirname(snapshots)).startsWith('models--')) return dirname(snapshots);
  return real;
}

/** `folder/name` when it is a regular file inside the folder (see above), else why not. */
export async function fileInside(folder: string, name: string): Promise<FolderFile> {
  const path = join(folder, name);
  const info = await lstat(path).catch(() => undefined);
  if (!info) return { ok: false, exists: false, problem: 'does not exist' };
  if (info.isFile()) return { ok: true, path };
  if (!info.isSymbolicLink()) return { ok: false, exists: true, problem: 'is not a regular file' };
  const target = await realpath(path).catch(() => undefined);
  if (target === undefined) return { ok: false, exists: true, problem: 'is a broken link' };
  const root = await allowedRoot(folder).catch(() => undefined);
  if (root === undefined || !target.startsWith(root + sep)) {
    return { ok: false, exists: true, problem: `is a link to ${target}, outside the checkpoint folder` };
  }
  if (!(await stat(target).catch(() => undefined))?.isFile()) return { ok: false, exists: true, problem: 'is a link to something that is not a regular file' };
  return { ok: true, path: target };
}

/**
 * Reads a small text file found by fileInside: opened without following links, its size checked
 * on the open handle, at most `maxBytes` read. `fail(problem)` builds the caller's typed error.
 */
export async function readTextInside(folder: string, name: string, maxBytes: number, fail: (file: string, problem: string) => Error): Promise<string> {
  const found = await fileInside(folder, name);
  const shown = join(folder, name);
  if (!found.ok) throw fail(shown, `${found.problem}; ParamZoo reads config files only when they are regular files inside the checkpoint folder`);
  const handle = await open(found.path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0)).catch((error: NodeJS.ErrnoException) => {
    throw fail(shown, `cannot be read (${error.code ?? error.message})`);
  });
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw fail(shown, 'is not a regular file');
    if (info.size > maxBytes) throw fail(shown, `is ${info.size} bytes, more than the ${maxBytes} a config file may have (read limit configBytes)`);
    // /proc-like files report size 0: read at most maxBytes + 1 whatever the size says.
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, Math.max(info.size, 64 * 1024) + 1));
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        throw fail(shown, `grows past ${Math.min(maxBytes, buffer.length - 1)} bytes while read (read limit configBytes)`);
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, length);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    try {
      // ignoreBOM keeps a byte-order mark in the text: configs are written back byte for byte
      return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(buffer.subarray(0, length));
    } catch {
      throw fail(shown, 'is not UTF-8 text');
    }
  } finally {
    await handle.close();
  }
}
