// One data folder for the app, the CLI and the server (DESIGN.md, Storage): $PARAMZOO_DATA, else
// ~/.paramzoo. Kept in step with engine/cli.ts's defaultDataDir (a test compares them): main
// must not import the engine.
import { join, resolve } from 'node:path';

export function appDataDir(env: Record<string, string | undefined>, home: string): string {
  return resolve(env.PARAMZOO_DATA || join(home, '.paramzoo'));
}
