import type { LoadedModel } from '../runtime/loaded-model.js';

/** The right to use a model until `release()`; a swapped-out model is freed only after every lease ends. */
export interface ModelLease {
  model: LoadedModel;
  release(): void;
}

interface Holder {
  model: LoadedModel;
  leases: number;
  retired: boolean;
}

/**
 * Holds the model being served and swaps it atomically: calls that started on the old model
 * finish on it, new calls get the new one, and the old runtime is disposed once drained.
 */
export class ModelSlot {
  private holder: Holder | undefined;
  private readonly disposals = new Set<Promise<void>>();

  constructor(private readonly onDisposeError: (error: unknown, model: LoadedModel) => void = () => undefined) {}

  /** The model serving now, without taking a lease (for metadata). */
  current(): LoadedModel | undefined {
    return this.holder?.model;
  }

  /** A lease on the current model, or undefined if none is loaded. */
  acquire(): ModelLease | undefined {
    const holder = this.holder;
    if (holder === undefined) return undefined;
    holder.leases += 1;
    let released = false;
    return {
      model: holder.model,
      release: () => {
        if (released) return;
        released = true;
        holder.leases -= 1;
        this.disposeIfDrained(holder);
      },
    };
  }

  /** Serves `next` from now on; returns the model it replaced. */
  swap(next: LoadedModel): LoadedModel | undefined {
    const previous = this.holder;
    this.holder = { model: next, leases: 0, retired: false };
    if (previous) {
      previous.retired = true;
      this.disposeIfDrained(previous);
    }
    return previous?.model;
  }

  /** Retires the current model and waits until every retired model is disposed. */
  async close(): Promise<void> {
    const holder = this.holder;
    this.holder = undefined;
    if (holder) {
      holder.retired = true;
      this.disposeIfDrained(holder);
    }
    while (this.disposals.size > 0) await Promise.all(this.disposals);
  }

  private disposeIfDrained(holder: Holder): void {
    if (!holder.retired || holder.leases > 0) return;
    holder.retired = false; // dispose once
    const disposal = holder.model.runtime.dispose().catch((error: unknown) => this.onDisposeError(error, holder.model));
    this.disposals.add(disposal);
    void disposal.finally(() => this.disposals.delete(disposal));
  }
}
