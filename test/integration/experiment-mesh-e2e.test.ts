/**
 * One experiment across a mesh, end to end on the real Kafka and Consul (issue 10's "done
 * when"): three gateway processes routing by the records of one aggregator process, two worker
 * variants whose true reward rates are 5 % (a) and 15 % (b), and a client that spreads
 * predictions and feedback over the replicas at random (feedback never to the replica that
 * served, some tokens redeemed twice on two replicas). The aggregator is SIGKILLed part-way and
 * restarted. Checked: every replica shifts traffic to b; every entity gets the same variant from
 * every replica holding the same record; the final record counts every trial and reward exactly
 * once (a recount of the topics, and what the client knows it sent).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, test } from 'node:test';
import { ConsulKvStore, createConsulClient } from '@infermesh/shared';
import { testConsul, testKafka } from '../infra/test-infra.js';
import { MODEL, evidenceOf, metricValue, publishedRecord, recountTopics, seeded, type Evidence } from '../support/aggregator-events.js';
import { eventually } from '../support/load-generator.js';
import { writeVersionArtifacts } from '../support/model-versions.js';
import { startAggregatorProcess, startGatewayProcess, startWorkerProcess, type WorkerProcess } from '../support/worker-process.js';
import { logisticModelConfig } from '../support/logistic-model-config.js';

/** True reward rates of the variants: b is the better one. */
const RATES: Readonly<Record<string, number>> = { a: 0.05, b: 0.15 };
/** Entities (user ids) the client predicts for. */
const ENTITIES = 150;
/** Predictions of the main load (the consistency checks add their own). */
const PREDICTIONS = 1_600;
/** Fractions of the main load: the shift, with the aggregator dead, while it restarts, after the shift. */
const PHASES = { shift: 0.4, aggregatorDead: 0.15, restarting: 0.2, shifted: 0.25 } as const;
/** Concurrent client loops of the main load. */
const CALLERS = 6;
/** Fraction of rewarded predictions whose token is redeemed a second time, on another replica. */
const REDEEM_TWICE = 0.05;
/** Warm-up trials per variant before Thompson sampling decides, and the floor each variant keeps. */
const MIN_TRIALS = 100;
const MIN_SHARE = 0.05;
/** b's share every replica's record must reach before the last phase (P(best) ≈ 1 gives 1 − MIN_SHARE). */
const SHIFTED_SHARE = 0.9;
/** Standard deviations below the expected share of b that a replica's last-phase traffic may fall (normal tail ≈ 1e-9). */
const SIGMAS = 6;
/** Milliseconds to wait for a shift, a restart or a catch-up: everything runs through tsx on a shared machine. */
const WAIT_MS = 120_000;
/**
 * Attempts to see one entity on all replicas within one record before giving up on it: a record
 * is published every 500 ms (stamped again when nothing changed), so on a loaded machine many
 * attempts span a change.
 */
const CHECK_ATTEMPTS = 50;

const SECRET = `k1:${randomBytes(32).toString('hex')}`;
const running: WorkerProcess[] = [];
const gateways: WorkerProcess[] = [];
let aggregatorArgs: string[];
let aggregator: WorkerProcess;
let kv: ConsulKvStore;
let brokers: string[];
let topics: string[];

interface Answer {
  predictionId: string;
  variant: string;
  default: boolean;
  sticky: boolean;
  feedbackToken?: string;
}

/** What the client sent and was answered: the counts an exact aggregator must publish, and the messages the topics hold. */
const sent = {
  predictions: 0,
  feedbackEvents: 0,
  redeemedTwice: 0,
  evidence: {} as Evidence,
};

const random = seeded(10);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const entity = (index: number) => `user-${index}`;

async function startProcess(start: Promise<WorkerProcess>): Promise<WorkerProcess> {
  const started = await start;
  running.push(started);
  return started;
}

async function predict(gateway: WorkerProcess, userId: string): Promise<Answer> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/models/${MODEL}/predict`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ entity: { userId }, inputs: { a: 0.5, b: 1, c: 2, d: 0.1 } }),
  });
  const body = (await response.json()) as Answer;
  assert.equal(response.status, 200, JSON.stringify(body));
  sent.predictions += 1;
  if (!body.default) (sent.evidence[body.variant] ??= { trials: 0, rewardSum: 0, rewardSumSquares: 0 }).trials += 1;
  return body;
}

async function redeem(gateway: WorkerProcess, token: string, reward: number): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/feedback`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ feedbackToken: token, reward }),
  });
  const body = (await response.json()) as { counted?: boolean };
  // Each replica deduplicates only what it saw itself: a token is new to every replica it was not redeemed on.
  assert.equal(response.status, 202, JSON.stringify(body));
  assert.equal(body.counted, true);
  sent.feedbackEvents += 1;
}

/**
 * Rewards a prediction with its variant's true rate, on a replica other than the one that served
 * it; some tokens are redeemed again (same reward) on the third replica: counted once.
 */
async function feedback(served: WorkerProcess, answer: Answer): Promise<void> {
  if (answer.default || answer.feedbackToken === undefined) return;
  const reward = random() < RATES[answer.variant]! ? 1 : 0;
  const twice = random() < REDEEM_TWICE;
  const first = pick(gateways.filter((gateway) => gateway !== served));
  await redeem(first, answer.feedbackToken, reward);
  const entry = (sent.evidence[answer.variant] ??= { trials: 0, rewardSum: 0, rewardSumSquares: 0 });
  entry.rewardSum += reward;
  entry.rewardSumSquares += reward * reward;
  if (twice) {
    await redeem(gateways.find((gateway) => gateway !== served && gateway !== first)!, answer.feedbackToken, reward);
    sent.redeemedTwice += 1;
  }
}

/** What a replica shows of the experiment: the record it routes by and the shares. */
async function view(gateway: WorkerProcess): Promise<{ sequence: number | null; shares: Record<string, number> }> {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/experiments/${MODEL}`);
  const body = (await response.json()) as { record: { sequence: number } | null; variants: { name: string; share: number }[] };
  return { sequence: body.record?.sequence ?? null, shares: Object.fromEntries(body.variants.map((variant) => [variant.name, variant.share])) };
}

/** Per replica, the predictions it served in a phase and how many went to b. */
type Served = Map<WorkerProcess, { total: number; b: number }>;

/** The main load: `count` predictions from CALLERS loops, each to a random entity on a random replica, each rewarded. */
async function load(count: number, served?: Served): Promise<void> {
  let left = Math.round(count);
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (left > 0) {
        left -= 1;
        const gateway = pick(gateways);
        const answer = await predict(gateway, entity(Math.floor(random() * ENTITIES)));
        assert.equal(answer.sticky, true);
        const tally = served?.get(gateway) ?? { total: 0, b: 0 };
        served?.set(gateway, { total: tally.total + 1, b: tally.b + (answer.variant === 'b' ? 1 : 0) });
        await feedback(gateway, answer);
      }
    }),
  );
}

/** Consistency checks: entities checked, retries because a record changed mid-check, and the distinct records seen. */
const checks = { entities: 0, retries: 0, records: new Set<number | null>() };

/**
 * Asks every replica for the entity's variant while all of them hold the same record (their
 * sequences read before and after are all equal; otherwise tried again) and asserts they agree.
 */
async function checkEntity(userId: string, reward: boolean): Promise<void> {
  for (let attempt = 0; attempt < CHECK_ATTEMPTS; attempt += 1) {
    const before = await Promise.all(gateways.map(view));
    const answers = await Promise.all(gateways.map((gateway) => predict(gateway, userId)));
    const afterward = await Promise.all(gateways.map(view));
    if (reward) await Promise.all(answers.map((answer, index) => feedback(gateways[index]!, answer)));
    const sequences = new Set([...before, ...afterward].map((seen) => seen.sequence));
    if (sequences.size !== 1) {
      checks.retries += 1;
      continue;
    }
    const live = answers.filter((answer) => !answer.default);
    assert.equal(new Set(live.map((answer) => answer.variant)).size <= 1, true, `${userId} got ${answers.map((answer) => answer.variant).join(', ')} from the three replicas under record ${[...sequences][0]}`);
    checks.entities += 1;
    checks.records.add([...sequences][0]!);
    return;
  }
  assert.fail(`${userId}: the replicas never held the same record through ${CHECK_ATTEMPTS} attempts`);
}

/** Checks entities one after another until `stop` resolves, cycling through all of them; rewarded like the main load. */
async function checkWhile(stop: Promise<unknown>, from: number): Promise<number> {
  let done = false;
  const finish = () => void (done = true);
  stop.then(finish, finish);
  let next = from;
  while (!done) {
    await checkEntity(entity(next % ENTITIES), true);
    next += 1;
  }
  return next;
}

before(async () => {
  const [consul, kafka] = await Promise.all([testConsul(), testKafka()]);
  brokers = kafka.brokers;
  const topicPrefix = `${kafka.topic('experiment-mesh')}.`;
  topics = [`${topicPrefix}predictions`, `${topicPrefix}feedback`];
  kv = new ConsulKvStore(createConsulClient(consul.httpAddr), consul.prefix);
  const artifacts = writeVersionArtifacts();
  const [workerA, workerB] = await Promise.all(
    (['v1', 'v2'] as const).map((version) => startProcess(startWorkerProcess(['--model', MODEL, '--version', version, '--artifact', artifacts[version].path, '--sha256', artifacts[version].sha256]))),
  );
  // A generous deadline: one missed on a loaded machine would be a default output, not a trial.
  await kv.compareAndSet(`models/${MODEL}/config`, JSON.stringify(logisticModelConfig({ static: [workerA!.address] }, { deadlineMs: 10_000 })), 0);
  await kv.compareAndSet(`experiments/${MODEL}`, JSON.stringify({
    entityKey: 'userId',
    // A week: no entity's window ends during the run, so only records move entities.
    stickinessSeconds: 7 * 86_400,
    policy: { type: 'thompson', reward: 'binary', minShare: MIN_SHARE, minTrials: MIN_TRIALS },
    variants: [{ name: 'a', pool: { static: [workerA!.address] } }, { name: 'b', pool: { static: [workerB!.address] } }],
  }), 0);
  const registry = ['--consul', consul.httpAddr, '--kv-prefix', consul.prefix];
  const events = ['--kafka-brokers', brokers.join(','), '--events-topic-prefix', topicPrefix];
  // Three partitions per topic: the aggregator's state is several partitions summed, as in production.
  const partitions = ['--events-predictions-partitions', '3', '--events-feedback-partitions', '3'];
  gateways.push(...(await Promise.all([1, 2, 3].map(() => startProcess(startGatewayProcess([...registry, ...events, ...partitions, '--experiment-records', 'registry', '--feedback-keys', SECRET]))))));
  aggregatorArgs = [...registry, ...events, '--group-id', `aggregator-${kafka.topic('experiment-mesh')}`, '--publish-interval-ms', '500'];
  aggregator = await startProcess(startAggregatorProcess(aggregatorArgs));
});

after(async () => {
  await Promise.all(running.map((process) => process.stop()));
});

test('three replicas, one aggregator killed and restarted mid-run: all shift to the better variant, agree on every entity, and count every reward once', { timeout: 8 * 60_000 }, async () => {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

  // Phase 1: warm-up and the shift, with consistency checks alongside.
  const phase1 = load(PREDICTIONS * PHASES.shift);
  let nextCheck = await checkWhile(phase1, 0);
  await phase1;
  await eventually('a record with evidence on every replica', async () => (await Promise.all(gateways.map(view))).every((seen) => seen.sequence !== null), WAIT_MS, 100);
  console.log(`[mesh] ${seconds()} s: phase 1 done, ${sent.predictions} predictions; replicas: ${JSON.stringify(await Promise.all(gateways.map(view)))}`);

  // The aggregator dies mid-stream (what it counted since its last round dies with it); traffic goes on, routed by the last record.
  aggregator.process.kill('SIGKILL');
  await aggregator.exited;
  const atKill = evidenceOf(await publishedRecord(kv));
  const phase2 = load(PREDICTIONS * PHASES.aggregatorDead);
  nextCheck = await checkWhile(phase2, nextCheck);
  await phase2;

  // Restarted while traffic continues: it resumes from the stored partition states.
  const restarting = startProcess(startAggregatorProcess(aggregatorArgs));
  const phase3 = Promise.all([load(PREDICTIONS * PHASES.restarting), restarting]);
  nextCheck = await checkWhile(phase3, nextCheck);
  [, aggregator] = await phase3;
  console.log(`[mesh] ${seconds()} s: aggregator restarted; published at the kill: ${JSON.stringify(atKill)}`);

  // (a) Every replica shifts to b: each holds a record giving b at least SHIFTED_SHARE...
  let shares: number[] = [];
  await eventually(`every replica to route by a record giving b at least ${SHIFTED_SHARE}`, async () => {
    shares = (await Promise.all(gateways.map(view))).map((seen) => seen.shares.b ?? 0);
    return shares.every((share) => share >= SHIFTED_SHARE);
  }, WAIT_MS, 200).catch((error: Error) => assert.fail(`${error.message}; b's shares: ${shares.join(', ')}`));
  // ... and serves mostly b from then on.
  const served: Served = new Map();
  const phase4 = load(PREDICTIONS * PHASES.shifted, served);
  nextCheck = await checkWhile(phase4, nextCheck);
  await phase4;
  console.log(`[mesh] ${seconds()} s: last phase done, ${sent.predictions} predictions; b's shares when it began: ${shares.map((share) => share.toFixed(3)).join(', ')}`);
  const floor = Math.min(...shares);
  for (const [index, gateway] of gateways.entries()) {
    const { total, b } = served.get(gateway) ?? { total: 0, b: 0 };
    // Positions are uniform hashes: the fraction of b among `total` draws of ENTITIES positions is
    // about `floor` with variance floor(1 − floor)(1/total + 1/ENTITIES) (draw noise plus which entities fall where).
    const threshold = Math.max(0.5, floor - SIGMAS * Math.sqrt(floor * (1 - floor) * (1 / total + 1 / ENTITIES)));
    console.log(`[mesh] replica ${index + 1}: ${b} of ${total} last-phase predictions to b (${((100 * b) / total).toFixed(1)} %, threshold ${(100 * threshold).toFixed(1)} %)`);
    assert.ok(total > 0 && b / total >= threshold, `replica ${index + 1} served b ${b} of ${total} times after the shift (threshold ${threshold.toFixed(3)})`);
  }

  // (b) Every entity, on every replica, under one record: a last pass over all of them, unrewarded.
  for (let index = 0; index < ENTITIES; index += 1) await checkEntity(entity(index), false);
  console.log(`[mesh] ${seconds()} s: ${checks.entities} entity checks agreed on all three replicas (${nextCheck} during the load, then all ${ENTITIES}) under ${checks.records.size} distinct records; ${checks.retries} retried because a record changed mid-check`);

  // (c) + (d) Every trial and reward once, after the kill and restart: record = recount = what the client sent.
  const messages = sent.predictions + sent.feedbackEvents;
  const recount = await recountTopics(brokers, topics, messages);
  let published: Evidence = {};
  await eventually('the record to equal the recount of the topics', async () => {
    published = evidenceOf(await publishedRecord(kv));
    return canonical(published) === canonical(recount);
  }, WAIT_MS, 250).catch((error: Error) => assert.fail(`${error.message}\npublished: ${canonical(published)}\nrecount:   ${canonical(recount)}`));
  assert.equal(canonical(recount), canonical(sent.evidence), 'the topics hold exactly what the client was answered: one trial per live prediction, the first reward per token');
  const record = (await publishedRecord(kv))!;
  const replayed = await metricValue(aggregator.metricsPort, 'infermesh_aggregator_events_replayed_total');
  const duplicates = await metricValue(aggregator.metricsPort, 'infermesh_aggregator_duplicates_skipped_total', { kind: 'reward' });
  console.log(`[mesh] ${seconds()} s: ${sent.predictions} predictions, ${sent.feedbackEvents} feedback events (${sent.redeemedTwice} tokens redeemed on two replicas); final record #${record.sequence}: ${canonical(published)}`);
  console.log(`[mesh] record shares a ${record.variants.a!.share.toFixed(3)} / b ${record.variants.b!.share.toFixed(3)}, P(best) b ${record.variants.b!.probabilityBest.toFixed(4)}; restarted aggregator re-read ${replayed} messages, skipped ${duplicates} duplicate rewards`);
  assert.ok(record.variants.b!.share > 0.5, `the final record gives b ${record.variants.b!.share}`);
  assert.ok(replayed > 0, 'the restarted aggregator rebuilt its deduplication memory from the log');
  assert.ok(duplicates > 0, 'tokens redeemed on two replicas reached the aggregator twice and were skipped');
});

/** Evidence as comparable text: variants sorted. */
function canonical(evidence: Evidence): string {
  return JSON.stringify(Object.fromEntries(Object.entries(evidence).sort(([x], [y]) => x.localeCompare(y))));
}
