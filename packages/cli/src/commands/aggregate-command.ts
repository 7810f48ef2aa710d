import { AGGREGATOR_OPTIONS, checkAggregatorConfig, createAggregator } from '@infermesh/aggregator';
import { serverCommand } from './server-command.js';

/** `infermesh aggregate`: the experiment aggregator service every gateway replica routes by. */
export const aggregateCommand = serverCommand({
  name: 'aggregate',
  service: 'aggregator',
  about: [
    'Usage: infermesh aggregate --consul URL --kafka-brokers HOST:PORT[,HOST:PORT] [options]',
    '',
    'A member of a Kafka consumer group over <prefix>predictions and <prefix>feedback: counts trials per',
    'variant from served predictions and rewards from feedback, each prediction id once, and every',
    '--publish-interval-ms stores each owned partition\'s counts with its offset (aggregator/<group>/partitions/',
    'in KV, compare-and-set) and publishes stats/{model} for every experiment: the sum over all partitions,',
    'with traffic shares and P(best). Gateways with --consul and --kafka-brokers (or --experiment-records registry) route by it.',
    'Start several with the same --group-id to share the partitions; a restarted or rebalanced instance',
    'resumes from the stored states without counting anything twice. SIGTERM stores and publishes once more.',
  ],
  options: AGGREGATOR_OPTIONS,
  check: checkAggregatorConfig,
  start: (config, { logger, registry }) => createAggregator(config, { logger, registry }),
});
