// Uploads (DESIGN.md Storage): a browser or remote app sends file BYTES — never tensors — into
// <data>/uploads/<upload>/ as binary frames of at most 1 MiB, under a size quota. Folders keep
// their relative paths, validated (no '..', no absolute paths, no links: the engine creates every
// file itself). An upload is imported from there and removed; leftovers of dead processes are
// removed when the area opens.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Id, UploadChunkHeader, UploadFile } from './protocol.js';
import { EngineError } from './errors.js';

/** The largest binary frame the WebSocket host accepts (engine/hosts/web-server.ts). */
export const MAX_FRAME_BYTES = 1 << 20;
/** Default quota of one upload, and of all uploads in progress together. */
export const DEFAULT_UPLOAD_QUOTA = 16 * 1024 ** 3;
const MAX_FILES = 10_000;
/** A relative path's length in UTF-8 bytes: leaves room for the data folder under PATH_MAX (4096). */
const MAX_PATH_BYTES = 1024;

interface Upload {
  id: Id;
  dir: string;
  files: UploadFile[];
  received: number[];
  /** the first problem met while writing chunks; reported by finish() */
  error: EngineError | null;
}

export class UploadError extends EngineError {
  constructor(message: string, hint = 'start the upload again') {
    super('upload', message, { hint });
  }
}

/** A relative path as sent by a browser (webkitRelativePath) or a remote app: plain segments only. */
export function checkRelativePath(path: unknown): string {
  // Bytes, not characters: the file system's limits (NAME_MAX 255 per name; the whole path, with the
  // data folder in front, under PATH_MAX) count UTF-8 bytes.
  if (typeof path !== 'string' || path.length === 0 || Buffer.byteLength(path) > MAX_PATH_BYTES) {
    throw new UploadError(
      `upload path ${JSON.stringify(typeof path === 'string' ? `${path.slice(0, 60)}…` : path)} is empty or longer than ${MAX_PATH_BYTES} bytes`,
      'use shorter folder and file names',
    );
  }
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.includes('\\') || path.includes('\0')) {
    throw new UploadError(`upload path '${path}' is not a relative path with '/' separators`, 'send paths relative to the chosen folder');
  }
  for (const segment of path.split('/')) {
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
    if (segment === '' || segment === '.' || segment === '..' || Buffer.byteLength(segment) > 255 || /[\x00-\x1f]/.test(segment)) {
      throw new UploadError(`upload path '${path}' has a segment '${segment}' that is not a plain name`, 'no empty, "." or ".." segments');
    }
  }
  return path;
}

export class UploadArea {
  private readonly uploads = new Map<Id, Upload>();
  private cleaned = false;

  constructor(
    readonly root: string,
    readonly quota: number = Number(process.env.PARAMZOO_UPLOAD_QUOTA) || DEFAULT_UPLOAD_QUOTA,
  ) {}

  /** Leftovers of processes that died mid-upload: folders named `<pid>-…` whose process is gone. */
  cleanLeftovers(): void {
    if (this.cleaned) return;
    this.cleaned = true;
    removeDeadProcessFolders(this.root);
  }

  begin(files: unknown): { upload: Id; maxChunkBytes: number } {
    this.cleanLeftovers();
    if (!Array.isArray(files) || files.length === 0 || files.length > MAX_FILES) throw new UploadError(`an upload needs 1 to ${MAX_FILES} files`, 'choose files or a folder to upload');
    const checked: UploadFile[] = [];
    const seen = new Set<string>();
    let total = 0;
    for (const file of files as UploadFile[]) {
      const path = checkRelativePath(file?.path);
      if (!Number.isSafeInteger(file.size) || file.size < 0) throw new UploadError(`upload file '${path}' has no valid size`);
      if (seen.has(path)) throw new UploadError(`upload file '${path}' is listed twice`);
      // 'a' and 'a/b' cannot both be files.
      for (const other of seen) if (other.startsWith(`${path}/`) || path.startsWith(`${other}/`)) throw new UploadError(`upload paths '${other}' and '${path}' clash`);
      seen.add(path);
      total += file.size;
      checked.push({ path, size: file.size });
    }
    const inFlight = [...this.uploads.values()].reduce((sum, u) => sum + u.files.reduce((s, f) => s + f.size, 0), 0);
    if (total + inFlight > this.quota) {
      throw new UploadError(
        `the upload (${total} bytes) exceeds the engine's upload quota (${this.quota} bytes, ${inFlight} in use)`,
        'upload fewer files at once, or import from a path on the engine machine with the CLI',
      );
    }
    const id = `${process.pid}-${randomBytes(8).toString('hex')}`;
    const dir = join(this.root, id);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    try {
      for (const file of checked) {
        const path = join(dir, ...file.path.split('/'));
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        closeSync(openSync(path, 'wx', 0o600));
      }
    } catch (error) {
      // Whatever the file system refused (a name too long for it, no space): typed, and nothing left behind.
      rmSync(dir, { recursive: true, force: true });
      const code = (error as NodeJS.ErrnoException).code ?? 'an error';
      throw new UploadError(
        `the engine could not create the upload's files (${code})`,
        code === 'ENAMETOOLONG' ? 'use shorter folder and file names' : 'check the space and permissions of the data folder',
      );
    }
    this.uploads.set(id, { id, dir, files: checked, received: checked.map(() => 0), error: null });
    return { upload: id, maxChunkBytes: MAX_FRAME_BYTES };
  }

  /** One binary frame. Problems are kept on the upload (there is no request to answer) and reported by finish(). */
  chunk(frame: Buffer): void {
    if (frame.length < 4) return;
    const headerLength = frame.readUInt32LE(0);
    if (headerLength > 4096 || 4 + headerLength > frame.length) return;
    let header: UploadChunkHeader;
    try {
      header = JSON.parse(frame.subarray(4, 4 + headerLength).toString('utf8')) as UploadChunkHeader;
    } catch {
      return;
    }
    const upload = this.uploads.get(String(header?.upload));
    if (!upload || upload.error) return;
    // A whole index only: `upload.files["length"]` would be the array's length, not a file.
    const file = Number.isSafeInteger(header.file) ? upload.files[header.file] : undefined;
    const data = frame.subarray(4 + headerLength);
    if (!file || header.offset !== upload.received[header.file]) {
      upload.error = new UploadError(`upload chunk for file ${header.file} at offset ${header.offset} arrived out of order`);
      return;
    }
    if (header.offset + data.length > file.size) {
      upload.error = new UploadError(`upload file '${file.path}' got more bytes than its announced ${file.size}`);
      return;
    }
    const fd = openSync(join(upload.dir, ...file.path.split('/')), 'r+');
    try {
      writeSync(fd, data, 0, data.length, header.offset);
    } finally {
      closeSync(fd);
    }
    upload.received[header.file]! += data.length;
  }

  /** Every byte arrived: the paths to import (the upload's top-level files and folders). The upload stays until remove(). */
  finish(id: Id): { dir: string; paths: string[] } {
    const upload = this.get(id);
    if (upload.error) throw upload.error;
    upload.files.forEach((file, i) => {
      if (upload.received[i] !== file.size) throw new UploadError(`upload file '${file.path}' has ${upload.received[i]} of ${file.size} bytes`, 'send every chunk before importing');
    });
    const tops = [...new Set(upload.files.map((f) => f.path.split('/')[0]!))];
    return { dir: upload.dir, paths: tops.map((top) => join(upload.dir, top)) };
  }

  remove(id: Id): void {
    const upload = this.uploads.get(id);
    this.uploads.delete(id);
    if (upload) rmSync(upload.dir, { recursive: true, force: true });
  }

  private get(id: Id): Upload {
    const upload = this.uploads.get(id);
    if (!upload) throw new UploadError(`there is no upload '${id}' in progress`, 'start it with upload.begin');
    return upload;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the `<pid>-…` folders under `root` whose process is gone (uploads, downloads of a crashed engine). */
export function removeDeadProcessFolders(root: string): void {
  if (!existsSync(root)) return;
  for (const name of readdirSync(root)) {
    const pid = Number(/^(\d+)-/.exec(name)?.[1]);
    if (pid === process.pid || (pid > 0 && processAlive(pid))) continue;
    rmSync(join(root, name), { recursive: true, force: true });
  }
}
