/** The gateway's side of the fronts benchmark: its model configs and experiment, and which event options it accepts. */
import { execFileSync } from 'node:child_process';
import { FileKvStore } from '@infermesh/shared';
import { CLI_MAIN } from './front-launchers.js';
import { logisticModelConfig } from '../../../test/support/logistic-model-config.js';

/** Gateway model with the full path: validation, enrichment, a 2-variant Thompson experiment. */
export const FULL_MODEL = 'm';
/** Same as FULL_MODEL without an experiment. */
export const NO_EXPERIMENT_MODEL = 'plain';
/** No enrichment, no experiment: the Open Inference Protocol REST route compared with KServe's. */
export const RAW_MODEL = 'raw';

/** Milliseconds the gateway waits for the feature service: generous, so a busy shared machine does not turn the path measured into the defaults path. */
const FEATURE_TIMEOUT_MS = 2_000;
/**
 * End-to-end budget of a prediction, milliseconds: generous, so a busy shared machine does not
 * turn the path measured into the deadline path (504 or the default output, which invalidate a series).
 */
const PREDICTION_DEADLINE_MS = 10_000;
/** Milliseconds a feature answer stays cached: longer than a bench run, so after warm-up every lookup is a hit. */
const FEATURE_CACHE_TTL_MS = 600_000;

/** Writes the three gateway models (and the experiment of FULL_MODEL) into a file registry. */
export async function writeGatewayRegistry(registryDir: string, workerModel: string, workerAddress: string, featureServiceUrl: string): Promise<void> {
  const kv = new FileKvStore(registryDir);
  const pool = { static: [workerAddress] };
  const enriched = {
    workerModel,
    entityKeys: ['userId'],
    inputs: { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' } },
    enrichers: [
      {
        name: 'profile',
        url: `${featureServiceUrl}/users/{userId}`,
        timeoutMs: FEATURE_TIMEOUT_MS,
        cacheTtlMs: FEATURE_CACHE_TTL_MS,
        features: { tenure: { default: 0 } },
      },
    ],
    tensors: { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'features.tenure'] } },
    deadlineMs: PREDICTION_DEADLINE_MS,
    pool,
  };
  const raw = logisticModelConfig(pool, { workerModel, deadlineMs: PREDICTION_DEADLINE_MS });
  const experiment = {
    entityKey: 'userId',
    policy: { type: 'thompson', reward: 'binary' },
    variants: [
      { name: 'a', pool },
      { name: 'b', pool },
    ],
  };
  await kv.compareAndSet(`models/${FULL_MODEL}/config`, JSON.stringify(enriched), 0);
  await kv.compareAndSet(`experiments/${FULL_MODEL}`, JSON.stringify(experiment), 0);
  await kv.compareAndSet(`models/${NO_EXPERIMENT_MODEL}/config`, JSON.stringify(enriched), 0);
  await kv.compareAndSet(`models/${RAW_MODEL}/config`, JSON.stringify(raw), 0);
}

/** The gateway's event flags, as its --help lists them (the events wiring may not be there yet). */
export interface GatewayEventSupport {
  kafkaBrokers: boolean;
  eventsDir: boolean;
  spoolDir: boolean;
  topicPrefix: boolean;
}

/** Reads `infermesh gateway --help` of the built CLI for the event options. */
export function detectGatewayEventSupport(): GatewayEventSupport {
  const help = execFileSync(process.execPath, [CLI_MAIN, 'gateway', '--help'], { encoding: 'utf8' });
  return {
    kafkaBrokers: help.includes('--kafka-brokers'),
    eventsDir: help.includes('--events-dir'),
    spoolDir: help.includes('--events-spool-dir'),
    topicPrefix: help.includes('--events-topic-prefix'),
  };
}

/** Gateway flags for events to Kafka (through a spool under `runDir`), or undefined when the gateway has no --kafka-brokers. */
export function kafkaEventArgs(support: GatewayEventSupport, brokers: string[], spoolDir: string, topicPrefix: string): string[] | undefined {
  if (!support.kafkaBrokers) return undefined;
  return ['--kafka-brokers', brokers.join(','), ...(support.spoolDir ? ['--events-spool-dir', spoolDir] : []), ...(support.topicPrefix ? ['--events-topic-prefix', topicPrefix] : [])];
}

/** Gateway flags for the embedded default (NDJSON files under `eventsDir`); none when the gateway has no such option. */
export function ndjsonEventArgs(support: GatewayEventSupport, eventsDir: string, spoolDir: string): string[] {
  return [...(support.eventsDir ? ['--events-dir', eventsDir] : []), ...(support.spoolDir ? ['--events-spool-dir', spoolDir] : [])];
}
