/**
 * Sends one prediction per entity id to a freshly started gateway before its series, so every
 * feature lookup in the measured windows is a cache hit: the bench measures the gateway's path
 * with enrichment served from its cache (the feature service's own round trip is not in it).
 */
import { Agent, request } from 'node:http';
import { USER_PLACEHOLDER } from './wrk-load.js';

/** Predictions in flight at once while priming. */
const PRIME_CONCURRENCY = 16;
/** Tries per entity id before priming gives up (a cold gateway on a busy machine may miss a deadline once). */
const PRIME_ATTEMPTS = 3;

/** POSTs `bodyTemplate` once for each of `users` entity ids to `path`; throws on the first answer that is not 200. */
export async function primeGateway(port: number, path: string, bodyTemplate: string, users: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: PRIME_CONCURRENCY });
  let next = 1;
  const post = (user: number) =>
    new Promise<void>((resolve, reject) => {
      const body = bodyTemplate.replaceAll(USER_PLACEHOLDER, `u${user}`);
      const call = request({ host: '127.0.0.1', port, path, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => (response.statusCode === 200 ? resolve() : reject(new Error(`priming ${path} for u${user}: ${response.statusCode} ${Buffer.concat(chunks).toString().slice(0, 300)}`))));
      });
      call.on('error', reject);
      call.end(body);
    });
  try {
    await Promise.all(
      Array.from({ length: PRIME_CONCURRENCY }, async () => {
        while (next <= users) {
          const user = next++;
          for (let attempt = 1; ; attempt += 1) {
            try {
              await post(user);
              break;
            } catch (error) {
              if (attempt >= PRIME_ATTEMPTS) throw error;
            }
          }
        }
      }),
    );
  } finally {
    agent.destroy();
  }
}
