import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { credentials, Server, ServerCredentials, status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import { loadHealthProto } from '@infermesh/shared';
import { WorkerHealth } from './worker-health.js';

const SERVICE = 'inference.GRPCInferenceService';
let server: Server;
let health: WorkerHealth;
let client: InstanceType<ReturnType<typeof loadHealthProto>['grpc']['health']['v1']['Health']>;

before(async () => {
  server = new Server();
  health = new WorkerHealth([SERVICE]);
  health.addTo(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) => (error ? reject(error) : resolve(bound))),
  );
  client = new (loadHealthProto().grpc.health.v1.Health)(`127.0.0.1:${port}`, credentials.createInsecure());
});
after(() => {
  client.close();
  server.forceShutdown();
});

function check(service: string): Promise<string> {
  return new Promise((resolve, reject) =>
    client.Check({ service }, (error: ServiceError | null, response) => (error ? reject(error) : resolve(String(response?.status)))),
  );
}

/** Every status a Watch stream receives, and a promise of how it ended. */
function watch(service: string): { seen: string[]; ended: Promise<string> } {
  const seen: string[] = [];
  const call = client.Watch({ service }) as ClientReadableStream<{ status: string }>;
  call.on('data', (message: { status: string }) => seen.push(String(message.status)));
  const ended = new Promise<string>((resolve) => {
    call.on('end', () => resolve('end'));
    call.on('error', (error: ServiceError) => resolve(`error ${error.code}`));
  });
  return { seen, ended };
}

async function until(what: string, predicate: () => boolean): Promise<void> {
  for (let waited = 0; !predicate(); waited += 10) {
    if (waited > 5_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

test('NOT_SERVING for the server and the inference service until told otherwise; unknown services are NOT_FOUND', async () => {
  assert.equal(await check(''), 'NOT_SERVING');
  assert.equal(await check(SERVICE), 'NOT_SERVING');
  await assert.rejects(check('other'), (error: ServiceError) => error.code === status.NOT_FOUND);
});

test('shutdown ends open Watch streams and is final: a later SERVING is ignored, a later Watch ends at once', async () => {
  const early = watch('');
  await until('the first status', () => early.seen.length === 1);
  health.setAll('SERVING');
  await until('SERVING on the stream', () => early.seen.length === 2);
  assert.equal(await check(SERVICE), 'SERVING');

  health.shutdown();
  assert.equal(await early.ended, 'end');
  assert.deepEqual(early.seen, ['NOT_SERVING', 'SERVING', 'NOT_SERVING']);

  health.setAll('SERVING'); // a load that finished during shutdown
  assert.equal(await check(''), 'NOT_SERVING');
  const late = watch(SERVICE);
  assert.equal(await late.ended, 'end');
  assert.deepEqual(late.seen, ['NOT_SERVING']);
});
