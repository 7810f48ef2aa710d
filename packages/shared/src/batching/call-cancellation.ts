/**
 * How a caller withdraws a call waiting in the batcher's queue (its client cancelled, or its
 * deadline passed). It plays the part of an AbortSignal at a fraction of the cost: a gRPC server
 * needs one per call, and an AbortController with an 'abort' listener (Node's EventTarget) cost
 * several per cent of the worker's CPU per request under load. One listener at a time is all the
 * batcher needs.
 */
export class CallCancellation {
  private withdrawn = false;
  private why: unknown;
  private listener: ((reason: unknown) => void) | undefined;

  /** Whether the caller has withdrawn the call. */
  get cancelled(): boolean {
    return this.withdrawn;
  }

  /** What the call is rejected with once withdrawn. */
  get reason(): unknown {
    return this.why;
  }

  /** Withdraws the call (only the first time counts) and tells the listener, if one is set. */
  cancel(reason: unknown): void {
    if (this.withdrawn) return;
    this.withdrawn = true;
    this.why = reason;
    const listener = this.listener;
    this.listener = undefined;
    listener?.(reason);
  }

  /** Sets the one listener told of a withdrawal (replacing any other); undefined clears it. */
  onCancel(listener: ((reason: unknown) => void) | undefined): void {
    this.listener = listener;
  }
}
