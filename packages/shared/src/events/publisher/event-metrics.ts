import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Append → acknowledgement latency buckets, seconds: 1 ms (Kafka up, loopback) to 1 h (a long outage). */
export const PUBLISH_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Why an event was not delivered. `spool_full` is the only one a healthy disk and sane events produce. */
export type DropReason = 'spool_full' | 'too_large' | 'unserializable' | 'write_failed' | 'corrupt' | 'closed';

/** What a publisher reports about itself when metrics are read. */
export interface EventMetricsProbe {
  /** Events spooled and not yet acknowledged. */
  queued(): number;
  spoolBytes(): number;
  /** Seconds since the oldest unacknowledged event was published; 0 when none waits. */
  oldestUnackedAgeSeconds(): number;
}

/** The event publishers' Prometheus metrics, on an injected registry. */
export class EventMetrics {
  readonly published: Counter<'type'>;
  readonly publishLatency: Histogram;
  readonly dropped: Counter<'reason'>;
  private probe: EventMetricsProbe | undefined;

  constructor(registry: Registry) {
    this.published = new Counter({
      name: 'infermesh_events_published_total',
      help: 'Events delivered to their destination (acknowledged by Kafka, or written to the NDJSON event files), by type.',
      labelNames: ['type'],
      registers: [registry],
    });
    this.publishLatency = new Histogram({
      name: 'infermesh_events_publish_latency_seconds',
      help: 'Time from appending an event to the spool to its acknowledgement by Kafka.',
      buckets: PUBLISH_LATENCY_BUCKETS,
      registers: [registry],
    });
    this.dropped = new Counter({
      name: 'infermesh_events_dropped_total',
      help: 'Events lost, by reason: spool_full (the spool reached --events-spool-max-bytes), too_large, unserializable, write_failed (disk error), corrupt (unreadable spool line), closed (published after stop).',
      labelNames: ['reason'],
      registers: [registry],
    });
    const probe = () => this.probe;
    new Gauge({
      name: 'infermesh_events_queued',
      help: 'Events in the local spool not yet acknowledged by Kafka.',
      registers: [registry],
      collect() {
        this.set(probe()?.queued() ?? 0);
      },
    });
    new Gauge({
      name: 'infermesh_events_spool_bytes',
      help: 'Bytes of spool segment files on disk.',
      registers: [registry],
      collect() {
        this.set(probe()?.spoolBytes() ?? 0);
      },
    });
    new Gauge({
      name: 'infermesh_events_oldest_unacked_age_seconds',
      help: 'Age of the oldest event not yet acknowledged by Kafka; 0 when none waits.',
      registers: [registry],
      collect() {
        this.set(probe()?.oldestUnackedAgeSeconds() ?? 0);
      },
    });
  }

  /** Connects the gauges to the publisher they describe. */
  attach(probe: EventMetricsProbe): void {
    this.probe = probe;
  }
}
