import { EVENT_TYPE, isEventType, NAME_PATTERN, type EventInput, type EventType } from '@infermesh/shared';
import { evidenceOf, type Evidence } from '@infermesh/experiments';

/** What the aggregator reads from one Kafka message. */
export interface DecodedEvent {
  /** The CloudEvents type, `other` for a type this version does not know, `invalid` for a message it cannot read. */
  type: EventType | 'other' | 'invalid';
  /** The trial or reward it carries, if any. */
  evidence: Evidence | undefined;
  /** The event's own time (CloudEvents `time`), epoch milliseconds: what discounting ages evidence from. */
  eventTimeMs: number;
}

const EVIDENCE_TYPES = new Set<string>([EVENT_TYPE.predictionServed, EVENT_TYPE.predictionFailed, EVENT_TYPE.feedbackReceived]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads one message's envelope. Only the fields evidence depends on are checked, not the full
 * schema: events from a newer gateway that carry more fields must still count. A message
 * whose evidence fields are malformed (a name the registry would refuse, a reward that is not
 * a finite number) counts nothing, so one bad producer cannot make every record invalid.
 */
export function decodeEvent(value: Buffer | null, timestampMs: number): DecodedEvent {
  const invalid: DecodedEvent = { type: 'invalid', evidence: undefined, eventTimeMs: timestampMs };
  let envelope: unknown;
  try {
    envelope = JSON.parse(value?.toString('utf8') ?? '');
  } catch {
    return invalid;
  }
  if (!isRecord(envelope) || typeof envelope.type !== 'string') return invalid;
  const parsedTime = typeof envelope.time === 'string' ? Date.parse(envelope.time) : Number.NaN;
  const eventTimeMs = Number.isFinite(parsedTime) ? parsedTime : timestampMs;
  if (!isEventType(envelope.type)) return { type: 'other', evidence: undefined, eventTimeMs };
  if (!EVIDENCE_TYPES.has(envelope.type)) return { type: envelope.type, evidence: undefined, eventTimeMs };
  const data = envelope.data;
  if (!isRecord(data) || !hasEvidenceFields(envelope.type, data)) return { ...invalid, eventTimeMs };
  const measurable = typeof data.latencyMs === 'number' && Number.isFinite(data.latencyMs) && data.latencyMs >= 0;
  const decoded = evidenceOf({ type: envelope.type, subject: String(envelope.subject ?? ''), data } as unknown as EventInput);
  // A served event from an older gateway without a usable latency still counts its trial, unmeasured.
  const evidence = decoded?.kind === 'trial' && !measurable ? withoutOutcome(decoded) : decoded;
  return { type: envelope.type, evidence, eventTimeMs };
}

function hasEvidenceFields(type: string, data: Record<string, unknown>): boolean {
  const named = typeof data.predictionId === 'string' && data.predictionId !== '' && isName(data.model) && isName(data.variant);
  if (!named) return false;
  if (type === EVENT_TYPE.feedbackReceived) return typeof data.reward === 'number' && Number.isFinite(data.reward);
  const experiment = data.experiment === null || typeof data.experiment === 'string';
  // A latency that is not a finite non-negative number would corrupt the histogram: such an event is not measured.
  const latency = typeof data.latencyMs === 'number' && Number.isFinite(data.latencyMs) && data.latencyMs >= 0;
  if (type === EVENT_TYPE.predictionFailed) return experiment && latency && typeof data.errorCode === 'string';
  return experiment && typeof data.default === 'boolean' && (data.rewardable === undefined || typeof data.rewardable === 'boolean');
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && NAME_PATTERN.test(value);
}

function withoutOutcome(evidence: Evidence & { kind: 'trial' }): Evidence | undefined {
  if (evidence.counted === false) return undefined;
  return { kind: 'trial', predictionId: evidence.predictionId, model: evidence.model, variant: evidence.variant };
}
