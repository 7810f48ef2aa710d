import { InfermeshError } from '@infermesh/shared';
import type { Logger } from 'pino';
import type { EnricherConfig } from './enricher-config.js';
import type { EnrichmentFailure } from './enrichment-failure.js';
import type { EnrichmentMetrics } from './enrichment-metrics.js';
import { FeatureSource, type SourceResult } from './feature-source.js';

export type { EnrichmentFailure, EnrichmentFailureReason } from './enrichment-failure.js';

/** What enrichment found for one request. */
export interface EnrichmentOutcome {
  /** Every feature that has a value: fetched, cached or defaulted. */
  features: Record<string, unknown>;
  /** Features that got their default because the source failed or lacked them. */
  defaulted: string[];
  /** Features with neither a value nor a default (the gateway answers 422 if the model needs one). */
  missing: string[];
  failures: EnrichmentFailure[];
}

/** What an {@link Enrichment} needs; clock, transport, metrics and logger are injected. */
export interface EnrichmentDependencies {
  fetch: typeof fetch;
  /** Milliseconds; the clock `deadline` is on. */
  now: () => number;
  metrics: EnrichmentMetrics;
  logger: Logger;
}

/** What {@link Enrichment.enrich} needs to know about the request. */
export interface EnrichOptions {
  /** Milliseconds on the `now()` clock after which the request no longer waits for a source. */
  deadline: number;
  requestId: string;
}

/** All enrichers of one model. Construct once per model config; reuse across requests (it owns the caches and breakers). */
export class Enrichment {
  private readonly sources: readonly { source: FeatureSource; config: EnricherConfig }[];
  private readonly logger: Logger;

  /** Throws INVALID_CONFIG when two enrichers share a name or a feature name, which the per-enricher schema cannot see. */
  constructor(enrichers: readonly EnricherConfig[], dependencies: EnrichmentDependencies) {
    checkUnique(enrichers);
    this.logger = dependencies.logger;
    // The sources log on the enrichment's logger: their lines are this model's enrichment's.
    this.sources = enrichers.map((config) => ({ source: new FeatureSource(config, dependencies), config }));
  }

  /** Fetches every enricher's features in parallel; never throws for a source failure (that is reported in the outcome). The wait for each source is bounded by min(its timeoutMs, deadline - now()). */
  async enrich(entity: Readonly<Record<string, string | number>>, options: EnrichOptions): Promise<EnrichmentOutcome> {
    const results = await Promise.all(this.sources.map(({ source }) => source.load(entity, options)));
    const outcome: EnrichmentOutcome = { features: {}, defaulted: [], missing: [], failures: [] };
    this.sources.forEach(({ config }, index) => {
      const result = results[index] as SourceResult;
      const defaultedHere = merge(config, result, outcome);
      if (!result.ok) {
        outcome.failures.push(result.failure);
        const { source, reason, message } = result.failure;
        this.logger.warn({ requestId: options.requestId, source, reason, detail: message, defaulted: defaultedHere }, 'feature source failed; using defaults');
      }
    });
    return outcome;
  }
}

/** Adds one source's features to outcome; returns the names that fell back to defaults. */
function merge(config: EnricherConfig, result: SourceResult, outcome: EnrichmentOutcome): string[] {
  const defaulted: string[] = [];
  for (const [feature, spec] of Object.entries(config.features)) {
    const value = result.ok ? result.values[feature] : undefined;
    if (value !== undefined) {
      outcome.features[feature] = value;
    } else if (spec.default !== undefined && spec.default !== null) {
      outcome.features[feature] = spec.default;
      defaulted.push(feature);
    } else {
      outcome.missing.push(feature);
    }
  }
  outcome.defaulted.push(...defaulted);
  return defaulted;
}

function checkUnique(enrichers: readonly EnricherConfig[]): void {
  const sources = new Set<string>();
  const featureOwner = new Map<string, string>();
  for (const { name, features } of enrichers) {
    if (sources.has(name)) throw new InfermeshError('INVALID_CONFIG', `two enrichers are named '${name}'; source names label metrics and must be unique`, { details: { source: name } });
    sources.add(name);
    for (const feature of Object.keys(features)) {
      const owner = featureOwner.get(feature);
      if (owner !== undefined) {
        throw new InfermeshError('INVALID_CONFIG', `feature '${feature}' comes from both '${owner}' and '${name}'; each feature needs one source`, {
          details: { feature, sources: [owner, name] },
        });
      }
      featureOwner.set(feature, name);
    }
  }
}
