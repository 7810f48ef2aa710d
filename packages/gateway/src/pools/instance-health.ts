/** When an instance leaves rotation and when it is probed. */
export interface EjectionPolicy {
  /** Consecutive transport/availability failures that eject an instance. */
  ejectAfterFailures: number;
  /** Milliseconds an ejected instance stays out before it is probed. */
  ejectionMs: number;
}

/**
 * Outlier state of one instance: in rotation until `ejectAfterFailures` consecutive failures,
 * then ejected; after `ejectionMs` it is due for a probe, which restores it or ejects it for
 * another period. Pure: the caller passes the time.
 */
export class InstanceHealth {
  private consecutiveFailures = 0;
  private ejectedUntil: number | undefined;
  private probing = false;

  constructor(private readonly policy: EjectionPolicy) {}

  /** Whether the instance is out of rotation. */
  get ejected(): boolean {
    return this.ejectedUntil !== undefined;
  }

  /** Failures in a row so far (reset by any answer from the instance). */
  get failures(): number {
    return this.consecutiveFailures;
  }

  /** The instance answered: the failure streak ends. */
  recordSuccess(): void {
    if (!this.ejected) this.consecutiveFailures = 0;
  }

  /** Counts a failure; true when it ejects the instance now. Failures of calls started before an ejection are ignored. */
  recordFailure(now: number): boolean {
    if (this.ejected) return false;
    this.consecutiveFailures += 1;
    if (this.consecutiveFailures < this.policy.ejectAfterFailures) return false;
    this.ejectedUntil = now + this.policy.ejectionMs;
    return true;
  }

  /** Whether a probe should start now (ejected, period over, none running); marks one as running. */
  beginProbeIfDue(now: number): boolean {
    if (this.ejectedUntil === undefined || this.probing || now < this.ejectedUntil) return false;
    this.probing = true;
    return true;
  }

  /** Ends a probe: back in rotation when it passed, otherwise ejected for another period. */
  endProbe(passed: boolean, now: number): void {
    this.probing = false;
    if (passed) {
      this.ejectedUntil = undefined;
      this.consecutiveFailures = 0;
    } else {
      this.ejectedUntil = now + this.policy.ejectionMs;
    }
  }
}
