import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

/** What `/healthz` reports. */
export interface AggregatorHealth {
  /** False once the process is stopping: the check fails so nothing waits on it. */
  serving: boolean;
  /** Details for a person reading the check (partitions owned, upstreams). */
  details(): Record<string, unknown>;
}

/** A running metrics and health endpoint. */
export interface AggregatorHttpServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `/metrics` (Prometheus text) and `/healthz` (200 while the process runs, 503 once it
 * stops). Health does not depend on Kafka or Consul: an aggregator waiting for them is doing its
 * job (publishing what it has, resuming when they return), and restarting it would not help.
 */
export async function startAggregatorHttpServer(registry: Registry, health: AggregatorHealth, host: string, port: number): Promise<AggregatorHttpServer> {
  const server: Server = createServer((request, response) => {
    const path = request.url?.split('?')[0];
    if (request.method === 'GET' && path === '/metrics') {
      registry.metrics().then(
        (body) => response.writeHead(200, { 'content-type': registry.contentType }).end(body),
        (error: unknown) => response.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)),
      );
      return;
    }
    if (request.method === 'GET' && path === '/healthz') {
      const status = health.serving ? 'ok' : 'stopping';
      response.writeHead(health.serving ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status, ...health.details() }));
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: /metrics and /healthz are served here\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
