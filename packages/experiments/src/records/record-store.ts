import type { ExperimentRecord } from './experiment-record.js';

/** Where a gateway reads the experiment records it routes by. */
export interface RecordSource {
  /** The newest record of `model`, if one was published. */
  get(model: string): ExperimentRecord | undefined;
  /** Every model with a record. */
  models(): string[];
}

/**
 * The records this process holds, newest sequence per model. The in-process aggregator
 * publishes into it; a Consul watch of `stats/` fills it on gateways fed by the aggregator
 * service. A record older than the one held is ignored, so a late or replayed publication
 * never moves traffic back. The sequence moves only when the content does; the same sequence
 * generated later is the same content stamped again (it only refreshes the record's age).
 */
export class RecordStore implements RecordSource {
  private readonly records = new Map<string, ExperimentRecord>();
  private readonly listeners = new Set<(model: string) => void>();

  /** Calls `listener` with the model after each record kept or forgotten (a live view follows it); returns the unsubscribe. */
  subscribe(listener: (model: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** @inheritdoc */
  get(model: string): ExperimentRecord | undefined {
    return this.records.get(model);
  }

  /** @inheritdoc */
  models(): string[] {
    return [...this.records.keys()];
  }

  /** Keeps `record` unless one with a higher sequence, or the same one generated as late or later, is held; says whether it was kept. */
  put(record: ExperimentRecord): boolean {
    const held = this.records.get(record.model);
    if (held !== undefined && (held.sequence > record.sequence || (held.sequence === record.sequence && held.generatedAt >= record.generatedAt))) return false;
    this.records.set(record.model, record);
    this.notify(record.model);
    return true;
  }

  /** Forgets the record of a model whose experiment was removed. */
  delete(model: string): void {
    if (this.records.delete(model)) this.notify(model);
  }

  private notify(model: string): void {
    for (const listener of this.listeners) listener(model);
  }
}
