import { decodeInferOutputs, InfermeshError, type EventPublisher, type Logger, type ModelInferRequest, type PredictionShadowData, type Tensor } from '@infermesh/shared';
import type { RandomSource } from '@infermesh/experiments';
import type { ServedModel } from '../../models/served-model.js';
import { compareOutputs } from './compare-outputs.js';
import type { ShadowMetrics } from './shadow-metrics.js';

/** What shadowing needs. */
export interface ShadowRunnerDependencies {
  metrics: ShadowMetrics;
  logger: Logger;
  random: RandomSource;
  /** Where each comparison goes as `infermesh.prediction.shadow`. */
  events: EventPublisher;
  /** Monotonic milliseconds: the shadow call's latency. */
  elapsed: () => number;
}

/** Which live prediction a shadow copy belongs to. */
export interface ShadowContext {
  deadline: Date;
  requestId: string;
  predictionId: string;
  liveVariant: string;
  liveVersion: string;
}

/**
 * Copies a fraction of live requests to a model's shadow variants, at most `maxConcurrent`
 * at once, and records how their answers compare. It never delays or changes the live
 * response: copies start after it is computed and their results only reach metrics.
 */
export class ShadowRunner {
  private inFlight = 0;

  constructor(private readonly dependencies: ShadowRunnerDependencies) {}

  /** Starts shadow copies of `request` (fire and forget) for a live answer `liveOutputs`. */
  shadow(model: ServedModel, buildRequest: () => ModelInferRequest, liveOutputs: readonly Tensor[], options: ShadowContext): void {
    const experiment = model.experiment;
    if (experiment === undefined || experiment.shadow.fraction === 0) return;
    const { metrics, logger, random, events, elapsed } = this.dependencies;
    // Encoded once, and only when a copy goes out.
    let request: ModelInferRequest | undefined;
    for (const variant of model.variants) {
      if (variant.config.role !== 'shadow' || !variant.config.enabled) continue;
      if (random() >= experiment.shadow.fraction) continue;
      if (this.inFlight >= experiment.shadow.maxConcurrent) {
        metrics.requests.inc({ model: model.name, variant: variant.name, outcome: 'skipped_concurrency' });
        continue;
      }
      this.inFlight += 1;
      const labels = { model: model.name, variant: variant.name };
      const started = elapsed();
      const pair = { predictionId: options.predictionId, requestId: options.requestId, model: model.name, liveVariant: options.liveVariant, liveVersion: options.liveVersion, shadowVariant: variant.name };
      // The live prediction's subject keeps the pair on its partition, next to the prediction.
      const publish = (data: Omit<PredictionShadowData, keyof typeof pair>) => void events.publish({ type: 'infermesh.prediction.shadow', subject: options.predictionId, data: { ...pair, ...data } });
      void variant.pool
        .infer((request ??= buildRequest()), { deadline: options.deadline, requestId: options.requestId })
        .then((result) => {
          const comparison = compareOutputs(liveOutputs, decodeInferOutputs(result.response));
          metrics.requests.inc({ ...labels, outcome: 'compared' });
          metrics.maxAbsDiff.observe(labels, comparison.maxAbsDiff);
          if (comparison.rows > 0) {
            metrics.argmaxRows.inc({ ...labels, agreement: 'agree' }, comparison.argmaxAgreed);
            metrics.argmaxRows.inc({ ...labels, agreement: 'disagree' }, comparison.rows - comparison.argmaxAgreed);
          }
          publish({
            shadowVersion: result.response.modelVersion || null,
            outcome: 'compared',
            maxAbsDiff: comparison.maxAbsDiff,
            argmaxAgreement: comparison.rows > 0 ? comparison.argmaxAgreed / comparison.rows : null,
            shadowLatencyMs: Math.max(0, elapsed() - started),
            errorCode: null,
          });
        })
        .catch((error: unknown) => {
          const code = InfermeshError.from(error).code;
          metrics.requests.inc({ ...labels, outcome: 'failed' });
          logger.debug({ requestId: options.requestId, ...labels, code }, 'shadow call failed');
          publish({ shadowVersion: null, outcome: code === 'DEADLINE_EXCEEDED' ? 'timeout' : 'failed', maxAbsDiff: null, argmaxAgreement: null, shadowLatencyMs: null, errorCode: code });
        })
        .finally(() => {
          this.inFlight -= 1;
        });
    }
  }
}
