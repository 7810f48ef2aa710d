import { createHmac, timingSafeEqual } from 'node:crypto';
import { InfermeshError } from '@infermesh/shared';
import type { FeedbackClaims, VerifiedFeedbackClaims } from './feedback-claims.js';
import { fromPayload, malformed, parsePayload, toPayload } from './feedback-token-payload.js';

/** Shortest secret accepted, bytes: HMAC-SHA256 gains nothing from more and is weakened by less (RFC 2104). */
export const MIN_SECRET_BYTES = 32;
/** Longest token verify() looks at, characters; bounds the work an anonymous caller can ask for. */
export const MAX_FEEDBACK_TOKEN_CHARS = 4096;
/** Bytes of an HMAC-SHA256 tag. */
const SIGNATURE_BYTES = 32;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** One HMAC key of a {@link FeedbackTokenSigner}. */
export interface FeedbackSigningKey {
  /** Written into every token it signs, so verification picks the key without trying all. */
  id: string;
  /** At least {@link MIN_SECRET_BYTES} bytes; a string is taken as its UTF-8 bytes. */
  secret: Buffer | string;
  /**
   * Milliseconds since the epoch from which tokens signed by this key are refused, for a
   * previous key only. Lets a rotation be written down once: put the new key first, keep
   * the old one with `acceptUntil = rotation time + ttlMs`, and delete it at leisure.
   * Absent: accepted for as long as the key is listed.
   */
  acceptUntil?: number;
}

/** Options of a {@link FeedbackTokenSigner}. */
export interface FeedbackTokenSignerOptions {
  /** The first key signs; the others are previous keys still accepted (rotation grace period). */
  keys: readonly FeedbackSigningKey[];
  /** Milliseconds a token stays valid after it was signed. */
  ttlMs: number;
  /** Milliseconds since the epoch; injected so tests control expiry. */
  now: () => number;
}

interface Key {
  id: string;
  secret: Buffer;
  acceptUntil: number;
}

/**
 * Signs and verifies feedback tokens: `base64url(JSON payload) '.' base64url(HMAC-SHA256(kid '.' payload))`.
 * The signature lets any gateway replica attribute a reward to the prediction it belongs to
 * without shared state, and keeps clients from inventing rewards for variants they never saw.
 */
export class FeedbackTokenSigner {
  private readonly keys: ReadonlyMap<string, Key>;
  private readonly signingKey: Key;

  constructor(private readonly options: FeedbackTokenSignerOptions) {
    if (!Number.isSafeInteger(options.ttlMs) || options.ttlMs <= 0) {
      throw new InfermeshError('INVALID_CONFIG', `feedback token ttlMs must be a positive integer, got ${options.ttlMs}`);
    }
    const keys = new Map<string, Key>();
    for (const [index, key] of options.keys.entries()) {
      if (key.id === '') throw new InfermeshError('INVALID_CONFIG', `feedback signing key #${index} has an empty id`);
      if (keys.has(key.id)) throw new InfermeshError('INVALID_CONFIG', `feedback signing key id '${key.id}' is listed twice`);
      const secret = Buffer.from(key.secret);
      if (secret.length < MIN_SECRET_BYTES) {
        throw new InfermeshError('INVALID_CONFIG', `feedback signing key '${key.id}' is ${secret.length} bytes; at least ${MIN_SECRET_BYTES} are needed`);
      }
      // A signing key that expires would mint tokens that die before their ttl.
      if (index === 0 && key.acceptUntil !== undefined) {
        throw new InfermeshError('INVALID_CONFIG', `feedback signing key '${key.id}' signs new tokens, so it cannot have acceptUntil`);
      }
      keys.set(key.id, { id: key.id, secret, acceptUntil: key.acceptUntil ?? Number.POSITIVE_INFINITY });
    }
    const first = options.keys[0];
    if (first === undefined) throw new InfermeshError('INVALID_CONFIG', 'feedback token signer needs at least one key');
    this.keys = keys;
    this.signingKey = keys.get(first.id)!;
  }

  /** A token for claims, issued now and valid for ttlMs, signed with the first key. */
  sign(claims: Omit<FeedbackClaims, 'issuedAt'>): string {
    // Whole milliseconds: verify() insists on integers, so a fractional clock must not leak in.
    const issuedAt = Math.floor(this.options.now());
    // Field by field, not a spread of the caller's object: this runs once per prediction, and the
    // spread object's shape made it three times slower.
    const payload = toPayload({
      predictionId: claims.predictionId,
      requestId: claims.requestId,
      model: claims.model,
      variant: claims.variant,
      version: claims.version,
      entity: claims.entity,
      issuedAt,
      expiresAt: issuedAt + this.options.ttlMs,
      keyId: this.signingKey.id,
    });
    const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
    const token = `${encoded}.${this.mac(this.signingKey, encoded).toString('base64url')}`;
    // The predict path would rather know now than hand out a token feedback will refuse.
    if (token.length > MAX_FEEDBACK_TOKEN_CHARS) {
      throw new InfermeshError('INVALID_ARGUMENT', `feedback token would be ${token.length} characters, over ${MAX_FEEDBACK_TOKEN_CHARS}: entity or ids too long`);
    }
    return token;
  }

  /**
   * The claims of a genuine, unexpired token. Throws INVALID_ARGUMENT when the input is not a
   * token at all, UNAUTHORIZED when it is one this mesh must not accept (unknown or retired
   * key, wrong signature, expired).
   */
  verify(token: unknown): VerifiedFeedbackClaims {
    if (typeof token !== 'string') throw malformed('not a string');
    if (token.length > MAX_FEEDBACK_TOKEN_CHARS) throw malformed(`longer than ${MAX_FEEDBACK_TOKEN_CHARS} characters`);
    const parts = token.split('.');
    if (parts.length !== 2) throw malformed('expected <payload>.<signature>');
    const [encodedPayload, encodedSignature] = parts as [string, string];
    const payload = parsePayload(decodeBase64Url(encodedPayload, 'payload').toString('utf8'));
    const signature = decodeBase64Url(encodedSignature, 'signature');

    const key = this.keys.get(payload.kid);
    if (key === undefined) {
      throw new InfermeshError('UNAUTHORIZED', `feedback token was signed with unknown key '${payload.kid}'`, { details: { keyId: payload.kid } });
    }
    const expected = this.mac(key, encodedPayload);
    // timingSafeEqual throws on unequal lengths; the length of a tag is no secret.
    if (signature.length !== SIGNATURE_BYTES || !timingSafeEqual(signature, expected)) {
      throw new InfermeshError('UNAUTHORIZED', 'feedback token signature does not match', { details: { keyId: key.id } });
    }
    const now = this.options.now();
    if (now >= key.acceptUntil) {
      throw new InfermeshError('UNAUTHORIZED', `feedback token was signed with key '${key.id}', retired at ${isoTime(key.acceptUntil)}`, {
        details: { keyId: key.id, retiredAt: key.acceptUntil },
      });
    }
    if (now >= payload.exp) {
      throw new InfermeshError('UNAUTHORIZED', `feedback token expired at ${isoTime(payload.exp)}`, { details: { expiredAt: payload.exp } });
    }
    return fromPayload(payload);
  }

  private mac(key: Key, encodedPayload: string): Buffer {
    return createHmac('sha256', key.secret).update(`${key.id}.${encodedPayload}`, 'utf8').digest();
  }
}

/**
 * Decodes canonical unpadded base64url only. Buffer's decoder skips junk and ignores the
 * spare bits of the last character, so several strings decode alike; refusing all but the
 * canonical one makes every edit of a token's text an edit of what is verified.
 */
function decodeBase64Url(text: string, part: string): Buffer {
  if (!BASE64URL.test(text)) throw malformed(`${part} is not base64url`);
  const bytes = Buffer.from(text, 'base64url');
  if (bytes.toString('base64url') !== text) throw malformed(`${part} is not canonical base64url`);
  return bytes;
}

function isoTime(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}
