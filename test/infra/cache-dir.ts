import { homedir } from 'node:os';
import { join } from 'node:path';

/** Directory for tools the tests install (Consul, Kafka): outside the repo so a fresh clone reuses them. */
export function infraCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const explicit = env.INFERMESH_CACHE_DIR;
  if (explicit !== undefined && explicit !== '') return explicit;
  const xdg = env.XDG_CACHE_HOME;
  if (xdg !== undefined && xdg !== '') return join(xdg, 'infermesh');
  return join(homedir(), '.cache', 'infermesh');
}
