import { randomBytes } from 'node:crypto';

/** Id prefixes: ids are unique across kinds, so `export` and `inspect` can take any of them. */
export const ID_PREFIX = {
  checkpoint: 'ck',
  generatedModel: 'gm',
  run: 'run',
  evaluation: 'ev',
  job: 'job',
} as const;

export type IdKind = keyof typeof ID_PREFIX;

/** `ck_3f9a0c1b2d4e5f60`: a prefix and 64 random bits in hex. */
export function newId(kind: IdKind): string {
  return `${ID_PREFIX[kind]}_${randomBytes(8).toString('hex')}`;
}

export function idKind(id: string): IdKind | null {
  const prefix = id.split('_', 1)[0];
  for (const [kind, value] of Object.entries(ID_PREFIX)) if (value === prefix) return kind as IdKind;
  return null;
}

export function looksLikeId(text: string): boolean {
  return /^[a-z]+_[0-9a-f]{16}$/.test(text) && idKind(text) !== null;
}

export function now(): string {
  return new Date().toISOString();
}
