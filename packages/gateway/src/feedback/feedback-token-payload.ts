import { InfermeshError } from '@infermesh/shared';
import type { VerifiedFeedbackClaims } from './feedback-claims.js';

/**
 * The JSON inside a feedback token. Short field names because the token travels in every
 * prediction response and comes back in every feedback call.
 */
export interface FeedbackTokenPayload {
  kid: string;
  pid: string;
  rid: string;
  mdl: string;
  var: string;
  ver: string;
  ent: string;
  iat: number;
  exp: number;
}

const STRING_FIELDS = ['kid', 'pid', 'rid', 'mdl', 'var', 'ver', 'ent'] as const;
const TIME_FIELDS = ['iat', 'exp'] as const;

/** The payload that carries claims; field order is fixed so equal claims sign to equal tokens. */
export function toPayload(claims: VerifiedFeedbackClaims): FeedbackTokenPayload {
  return {
    kid: claims.keyId,
    pid: claims.predictionId,
    rid: claims.requestId,
    mdl: claims.model,
    var: claims.variant,
    ver: claims.version,
    ent: claims.entity,
    iat: claims.issuedAt,
    exp: claims.expiresAt,
  };
}

/** The claims a payload carries. */
export function fromPayload(payload: FeedbackTokenPayload): VerifiedFeedbackClaims {
  return {
    predictionId: payload.pid,
    requestId: payload.rid,
    model: payload.mdl,
    variant: payload.var,
    version: payload.ver,
    entity: payload.ent,
    issuedAt: payload.iat,
    expiresAt: payload.exp,
    keyId: payload.kid,
  };
}

/**
 * Parses a payload's JSON text; anything that is not exactly the expected shape is
 * INVALID_ARGUMENT. This runs before the signature is checked (the key id is inside), so it
 * must treat its input as hostile: no field is trusted beyond its type.
 */
export function parsePayload(json: string): FeedbackTokenPayload {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw malformed('payload is not JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw malformed('payload is not a JSON object');
  const record = value as Record<string, unknown>;
  for (const field of STRING_FIELDS) {
    if (typeof record[field] !== 'string') throw malformed(`payload field '${field}' is missing or not a string`);
  }
  for (const field of TIME_FIELDS) {
    if (!Number.isSafeInteger(record[field])) throw malformed(`payload field '${field}' is missing or not an integer`);
  }
  const payload = record as unknown as FeedbackTokenPayload;
  if (payload.kid === '') throw malformed("payload field 'kid' is empty");
  if (payload.pid === '') throw malformed("payload field 'pid' is empty");
  // Copy the known fields only, so nothing else a forger put in the JSON travels further.
  return toPayload(fromPayload(payload));
}

/** The error for a token that is not a feedback token at all (HTTP 400). */
export function malformed(reason: string): InfermeshError {
  return new InfermeshError('INVALID_ARGUMENT', `feedback token is malformed: ${reason}`, { details: { reason } });
}
