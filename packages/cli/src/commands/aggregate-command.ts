import { createLogger, formatOptionsHelp } from '@infermesh/shared';
import { AGGREGATOR_OPTIONS, checkAggregatorConfig, createAggregator, type AggregatorConfig } from '@infermesh/aggregator';
import { Registry } from 'prom-client';
import { EXIT_USAGE, type Command } from './command.js';
import { loadServerConfig } from './load-server-config.js';
import { serveUntilSignal } from './serve-until-signal.js';

/** `infermesh aggregate`: the experiment aggregator service every gateway replica routes by. */
export const aggregateCommand: Command = {
  help: () =>
    [
      'Usage: infermesh aggregate --consul URL --kafka-brokers HOST:PORT[,HOST:PORT] [options]',
      '',
      'A member of a Kafka consumer group over <prefix>predictions and <prefix>feedback: counts trials per',
      'variant from served predictions and rewards from feedback, each prediction id once, and every',
      '--publish-interval-ms stores each owned partition\'s counts with its offset (aggregator/<group>/partitions/',
      'in KV, compare-and-set) and publishes stats/{model} for every experiment: the sum over all partitions,',
      'with traffic shares and P(best). Gateways with --consul and --kafka-brokers (or --experiment-records registry) route by it.',
      'Start several with the same --group-id to share the partitions; a restarted or rebalanced instance',
      'resumes from the stored states without counting anything twice. SIGTERM stores and publishes once more.',
      '',
      'Options (flag, else environment variable, else --config file):',
      formatOptionsHelp(AGGREGATOR_OPTIONS),
    ].join('\n'),
  async run(argv, env) {
    const config = loadServerConfig<AggregatorConfig>('aggregate', AGGREGATOR_OPTIONS, { argv, env }, checkAggregatorConfig);
    if (config === undefined) return EXIT_USAGE;
    const logger = createLogger({ service: 'aggregator', level: config.logLevel });
    return serveUntilSignal('aggregate', logger, () => createAggregator(config, { logger, registry: new Registry() }));
  },
};
