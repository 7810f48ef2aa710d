import type { SpooledEvent } from '../contract/spooled-event.js';

/** What the owning thread asks of a sink thread. */
export type SinkThreadRequest = { kind: 'send'; id: number; events: readonly SpooledEvent[] } | { kind: 'stop' };

/** A failed send as it crosses threads: an InfermeshError's code and retriability survive, so the sender reacts as if the sink were local. */
export interface SinkThreadFailure {
  message: string;
  code?: string;
  retriable?: boolean;
}

/** What a sink thread tells its owner. */
export type SinkThreadReply =
  | { kind: 'started' }
  | { kind: 'sent'; id: number }
  | { kind: 'failed'; id: number; error: SinkThreadFailure }
  | { kind: 'stopped' }
  /** One JSON log line of the thread's logger, re-logged by the owner's logger. */
  | { kind: 'log'; line: string };

/** The failure of a send, without what cannot cross a thread (causes, stacks, sockets). */
export function toSinkThreadFailure(error: unknown): SinkThreadFailure {
  const { code, retriable } = error as { code?: unknown; retriable?: unknown };
  const failure: SinkThreadFailure = { message: error instanceof Error ? error.message : String(error) };
  if (typeof code === 'string') failure.code = code;
  if (typeof retriable === 'boolean') failure.retriable = retriable;
  return failure;
}
