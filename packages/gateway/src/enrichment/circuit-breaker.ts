import type { CircuitBreakerConfig } from './enricher-config.js';

/** `half_open`: the open period is over and one trial call decides between closed and open. */
export type CircuitState = 'closed' | 'open' | 'half_open';

/** Permission for one call; its result is reported back with it. */
export interface CircuitPermit {
  /** The state period the call was admitted in; results from an earlier period are ignored. */
  readonly epoch: number;
}

/** Options of a {@link CircuitBreaker}. */
export interface CircuitBreakerOptions extends CircuitBreakerConfig {
  /** Milliseconds; injected so tests step through the open period without waiting. */
  now: () => number;
  /** Called on every transition, e.g. to set a gauge or log. */
  onStateChange?: (state: CircuitState, previous: CircuitState) => void;
}

/**
 * Fails calls fast while a dependency is down. Closed: calls pass; `failureThreshold`
 * consecutive failures open it. Open: calls are refused until `openMs` has passed, then the
 * next caller makes the one trial call (half-open; others are still refused). The trial's
 * success closes it, its failure re-opens it for another `openMs`.
 *
 * Results are attributed to the period (epoch) the call was admitted in: a slow call that
 * started while closed and fails after the breaker opened does not extend the open period,
 * and a slow success cannot masquerade as the half-open trial.
 */
export class CircuitBreaker {
  private current: CircuitState = 'closed';
  private epoch = 0;
  private consecutiveFailures = 0;
  private openedAt = 0;
  private trialInFlight = false;

  constructor(private readonly options: CircuitBreakerOptions) {}

  /** The state as of the last call; open turns half-open only when a call asks to pass. */
  get state(): CircuitState {
    return this.current;
  }

  /** A permit for one call, or undefined when the call must fail fast. */
  tryAcquire(): CircuitPermit | undefined {
    switch (this.current) {
      case 'closed':
        return { epoch: this.epoch };
      case 'open':
        if (this.options.now() - this.openedAt < this.options.openMs) return undefined;
        this.transition('half_open');
        this.trialInFlight = true;
        return { epoch: this.epoch };
      case 'half_open':
        if (this.trialInFlight) return undefined;
        this.trialInFlight = true;
        return { epoch: this.epoch };
    }
  }

  /** The call reached a healthy dependency. */
  recordSuccess(permit: CircuitPermit): void {
    if (permit.epoch !== this.epoch) return;
    if (this.current === 'closed') this.consecutiveFailures = 0;
    else if (this.current === 'half_open') this.transition('closed');
  }

  /** The call failed in a way that blames the dependency. */
  recordFailure(permit: CircuitPermit): void {
    if (permit.epoch !== this.epoch) return;
    if (this.current === 'half_open') {
      this.open();
    } else if (this.current === 'closed') {
      this.consecutiveFailures += 1;
      if (this.consecutiveFailures >= this.options.failureThreshold) this.open();
    }
  }

  /** The call ended without telling anything about the dependency (e.g. the caller gave up first). */
  release(permit: CircuitPermit): void {
    // A half-open trial that proved nothing hands the trial to the next caller.
    if (permit.epoch === this.epoch && this.current === 'half_open') this.trialInFlight = false;
  }

  private open(): void {
    this.openedAt = this.options.now();
    this.transition('open');
  }

  private transition(next: CircuitState): void {
    const previous = this.current;
    this.current = next;
    this.epoch += 1;
    this.consecutiveFailures = 0;
    this.trialInFlight = false;
    this.options.onStateChange?.(next, previous);
  }
}
