export { createAggregator, type Aggregator, type AggregatorDependencies } from './create-aggregator.js';
export {
  AGGREGATOR_OPTIONS,
  checkAggregatorConfig,
  DEFAULT_AGGREGATOR_GROUP_ID,
  DEFAULT_PUBLISH_INTERVAL_MS,
  DEFAULT_TRIAL_DEDUPE_SECONDS,
  DEFAULT_DEDUPE_MAX_IDS,
  DEFAULT_AGGREGATOR_METRICS_PORT,
  type AggregatorConfig,
} from './config/aggregator-options.js';
export { partitionStateKey, partitionStatesPrefix, parsePartitionState, type PartitionState } from './state/partition-state.js';
export type { PublishedRecord } from './records/record-publisher.js';
