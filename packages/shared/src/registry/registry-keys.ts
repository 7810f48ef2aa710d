/** KV key of an immutable model version. */
export function versionKey(model: string, version: string): string {
  return `models/${model}/versions/${version}`;
}

/** KV key of a deployment (what a worker pool serves). */
export function deploymentKey(model: string, deployment: string): string {
  return `models/${model}/deployments/${deployment}`;
}

/** Prefix under which every model lives. */
export const MODELS_PREFIX = 'models/';
