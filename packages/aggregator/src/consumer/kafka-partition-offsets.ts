import type { Admin, Kafka } from 'kafkajs';

/** Where in a partition's log to start reading. */
export interface OffsetLookup {
  /** The earliest offset the partition still holds (older messages were deleted by retention). */
  earliest(topic: string, partition: number): Promise<string>;
  /** The first offset, in log order, whose message timestamp is at or after `timestampMs`; the end of the log if none is. */
  atTimestamp(topic: string, partition: number, timestampMs: number): Promise<string>;
  /** The topics among `topics` that exist. */
  existingTopics(topics: readonly string[]): Promise<string[]>;
}

/**
 * Offset look-ups through one kafkajs admin client, connected on first use and again after a
 * failure. Kafka answers a timestamp look-up with the first message whose timestamp is at or
 * after it, even when timestamps are not monotonic, which is what rebuilding a window needs.
 */
export class KafkaPartitionOffsets implements OffsetLookup {
  private admin: Admin | undefined;
  private connecting: Promise<Admin> | undefined;

  constructor(private readonly kafka: Kafka) {}

  async earliest(topic: string, partition: number): Promise<string> {
    const offsets = await this.call((admin) => admin.fetchTopicOffsets(topic));
    const found = offsets.find((entry) => entry.partition === partition);
    if (found === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
    return found.low;
  }

  async atTimestamp(topic: string, partition: number, timestampMs: number): Promise<string> {
    const offsets = await this.call((admin) => admin.fetchTopicOffsetsByTimestamp(topic, Math.max(0, Math.floor(timestampMs))));
    const found = offsets.find((entry) => entry.partition === partition);
    if (found === undefined) throw new Error(`topic ${topic} has no partition ${partition}`);
    return found.offset;
  }

  async existingTopics(topics: readonly string[]): Promise<string[]> {
    const existing = new Set(await this.call((admin) => admin.listTopics()));
    return topics.filter((topic) => existing.has(topic));
  }

  /** Disconnects the admin client. */
  async close(): Promise<void> {
    const admin = this.admin ?? (await this.connecting?.catch(() => undefined));
    this.admin = undefined;
    this.connecting = undefined;
    await admin?.disconnect().catch(() => undefined);
  }

  private async call<T>(request: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = await this.connected();
    try {
      return await request(admin);
    } catch (error) {
      // A fresh connection next time: the cluster may have moved under this one.
      if (this.admin === admin) this.admin = undefined;
      await admin.disconnect().catch(() => undefined);
      throw error;
    }
  }

  private connected(): Promise<Admin> {
    if (this.admin !== undefined) return Promise.resolve(this.admin);
    this.connecting ??= (async () => {
      const admin = this.kafka.admin();
      try {
        await admin.connect();
        this.admin = admin;
        return admin;
      } catch (error) {
        await admin.disconnect().catch(() => undefined);
        throw error;
      } finally {
        this.connecting = undefined;
      }
    })();
    return this.connecting;
  }
}
