import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';

/** Host every test server binds to: loopback only. */
export const LOOPBACK_HOST = '127.0.0.1';

/** A TCP port that was free on 127.0.0.1 a moment ago (the OS picks it; the caller binds it soon after). */
export async function freePort(): Promise<number> {
  const [port] = await freePorts(1);
  if (port === undefined) throw new Error('freePort: no port was picked');
  return port;
}

/** Times a server is started on fresh ports when a port picked free was taken before it could bind it. */
export const PORT_CLASH_ATTEMPTS = 3;

/** How the servers the tests run (Consul, Nomad, Kafka's JVM) log a port that is taken. */
const PORT_CLASH_LOG = /address already in use/i;

/**
 * Runs `start` (which picks free ports and starts a server on them), and runs it again, up to
 * PORT_CLASH_ATTEMPTS times in all, while it fails and the server's `logFile` says a port was
 * taken: a port picked free stays free only until someone else binds it.
 */
export async function startOnFreePorts<T>(logFile: string, start: (attempt: number) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await start(attempt);
    } catch (error) {
      const clash = PORT_CLASH_LOG.test(await readFile(logFile, 'utf8').catch(() => ''));
      if (!clash || attempt >= PORT_CLASH_ATTEMPTS) throw error;
    }
  }
}

/** Several distinct free ports: every listener stays open until all are read, so the OS cannot hand one out twice. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: count }, () => listenOnAnyPort()));
  const ports = servers.map(portOf);
  await Promise.all(servers.map(closeServer));
  return ports;
}

function listenOnAnyPort(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, LOOPBACK_HOST, () => resolve(server));
  });
}

function portOf(server: Server): number {
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('freePort: server has no TCP address');
  return address.port;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}
