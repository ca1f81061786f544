// Starts tests/helpers/hanging-job.ts as its own process: a job on `dataDir` that runs until the
// process is killed, as a CLI job beside the app would.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Resolves once the job runs, with the process and the job's id. */
export function startHangingJob(dataDir: string): Promise<{ child: ChildProcess; id: string }> {
  const script = fileURLToPath(new URL('./hanging-job.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, dataDir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      out += chunk;
      const found = /running (job_\w+)/.exec(out);
      if (found) resolve({ child, id: found[1]! });
    });
    child.on('exit', (code) => reject(new Error(`the job process exited early (${code})`)));
  });
}
