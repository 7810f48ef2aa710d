export { createWorker, type Worker, type WorkerDependencies } from './create-worker.js';
export { WORKER_OPTIONS, versionSource, type WorkerConfig } from './config/worker-options.js';
export { loadModelRuntime, type RuntimeOptions } from './runtime/load-model-runtime.js';
export type { ModelRuntime } from './runtime/model-runtime.js';
export { sha256OfFile } from './artifacts/verify-sha256.js';
