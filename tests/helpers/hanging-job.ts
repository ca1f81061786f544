// A process that starts a job which never ends, says so on stdout, and waits to be killed:
// the catalog test kills it to check that the job is found interrupted on the next open.
import { openCatalog } from '../../engine/catalog/db.js';
import { JobRunner } from '../../engine/jobs.js';

const catalog = openCatalog(process.argv[2]!);
const jobs = new JobRunner(
  () => catalog.db,
  (event) => {
    if (event.type === 'job.progress' && event.job.status === 'running') process.stdout.write(`running ${event.job.id}\n`);
  },
);
jobs.register('demo', (_params, ctx) => new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))));
jobs.submit('demo', {});
setInterval(() => undefined, 1000);
