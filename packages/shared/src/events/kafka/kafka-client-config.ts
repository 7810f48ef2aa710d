import { readFileSync } from 'node:fs';
import { logLevel, type KafkaConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { Logger } from 'pino';
import { InfermeshError } from '../../errors/infermesh-error.js';

/** SASL mechanisms passed through to kafkajs. */
export const KAFKA_SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;

/** Milliseconds kafkajs waits for a TCP (and TLS) connection to a broker. */
export const KAFKA_CONNECTION_TIMEOUT_MS = 3_000;
/** First delay between kafkajs' own retries, milliseconds (its default is 300). */
export const KAFKA_INITIAL_RETRY_MS = 100;
/**
 * Longest delay between kafkajs' own retries, milliseconds. Its default of 30 s would leave a
 * restarted broker unused for up to half a minute; 1 s picks it up within a few seconds.
 */
export const KAFKA_MAX_RETRY_MS = 1_000;
/** kafkajs' retries per request before it gives up and our sender's backoff takes over. */
export const KAFKA_RETRIES = 5;

/** How to reach a Kafka cluster. */
export interface KafkaConnectionOptions {
  brokers: string[];
  clientId: string;
  sasl?: { mechanism: (typeof KAFKA_SASL_MECHANISMS)[number]; username: string; password: string };
  /** TLS to the brokers; `caFile` adds a CA bundle (PEM) to the trusted ones. */
  ssl?: { caFile?: string };
}

/**
 * kafkajs logs every failed retry at ERROR. Our sender reports an outage once (WARN, then
 * ERROR if it lasts), so kafkajs' own lines go to debug where they help diagnose without noise.
 */
function kafkaLogCreator(logger: Logger): () => (entry: LogEntry) => void {
  return () =>
    ({ namespace, level, log }) => {
      const { message, timestamp: _timestamp, logger: _name, ...extra } = log as { message: string; timestamp?: string; logger?: string };
      const target = level === logLevel.DEBUG ? 'trace' : 'debug';
      logger[target]({ kafkajs: namespace, ...extra }, message);
    };
}

/** The kafkajs client configuration for `options`, logging through `logger`. */
export function kafkaClientConfig(options: KafkaConnectionOptions, logger: Logger): KafkaConfig {
  if (options.brokers.length === 0) throw new InfermeshError('INVALID_CONFIG', '--kafka-brokers (KAFKA_BROKERS) names no broker');
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: KAFKA_CONNECTION_TIMEOUT_MS,
    retry: { initialRetryTime: KAFKA_INITIAL_RETRY_MS, maxRetryTime: KAFKA_MAX_RETRY_MS, retries: KAFKA_RETRIES },
    // kafkajs builds every log entry before filtering: ask it only for what pino will write.
    logLevel: logger.isLevelEnabled('trace') ? logLevel.DEBUG : logger.isLevelEnabled('debug') ? logLevel.INFO : logLevel.NOTHING,
    logCreator: kafkaLogCreator(logger),
  };
  if (options.ssl !== undefined) {
    const caFile = options.ssl.caFile;
    if (caFile === undefined) config.ssl = true;
    else {
      try {
        config.ssl = { ca: [readFileSync(caFile, 'utf8')] };
      } catch (error) {
        throw new InfermeshError('INVALID_CONFIG', `--kafka-ssl-ca-file: cannot read ${caFile}: ${(error as Error).message}`, { cause: error });
      }
    }
  }
  if (options.sasl !== undefined) config.sasl = { ...options.sasl } as SASLOptions;
  return config;
}

/** Splits a comma list of brokers (`host:port,host:port`), ignoring blanks. */
export function parseBrokerList(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
}
