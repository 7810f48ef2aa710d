import { Counter, Gauge, type Registry } from 'prom-client';
import type { RecordSource } from '@infermesh/experiments';

/** Metrics of the experiment records a gateway routes by. */
export class RecordMetrics {
  /** Records that could not be computed or were refused as invalid; routing kept the previous one (or the weights). */
  readonly rejections: Counter<'model'>;

  constructor(registry: Registry, records: RecordSource, now: () => number) {
    this.rejections = new Counter({
      name: 'infermesh_gateway_experiment_record_rejections_total',
      help: 'Experiment records that could not be computed or were refused as invalid; routing kept the previous record, or the weights without one.',
      labelNames: ['model'],
      registers: [registry],
    });
    new Gauge({
      name: 'infermesh_gateway_experiment_record_age_seconds',
      help: 'Age of the experiment record this gateway routes by (now minus the time it was computed), by model.',
      labelNames: ['model'],
      registers: [registry],
      collect() {
        // Computed at scrape time: an aggregator that stopped publishing shows as a growing age.
        this.reset();
        for (const model of records.models()) this.set({ model }, Math.max(0, (now() - records.get(model)!.generatedAt) / 1000));
      },
    });
  }
}
