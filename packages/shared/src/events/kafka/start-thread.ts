import { Worker } from 'node:worker_threads';

/**
 * A worker thread running the module `entry`. Built JavaScript runs as it is; TypeScript source
 * (tests and development under tsx) first gets tsx's loader in the thread, because Node 20 does
 * not hand a parent's `--import` loader hooks to a worker's entry.
 */
export function startThread(entry: URL, workerData: unknown): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, { workerData });
  const loader = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(loader)}).then(({ register }) => { register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(code, { eval: true, workerData });
}
