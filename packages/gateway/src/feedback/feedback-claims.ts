/** What a feedback token attests: which prediction a later reward belongs to. */
export interface FeedbackClaims {
  /** Server-generated id of the prediction: what rewards are deduplicated and joined on. */
  predictionId: string;
  /** The client's request id, kept for correlation only (clients may reuse it). */
  requestId: string;
  model: string;
  variant: string;
  version: string;
  /** Value of the experiment's entity key for the request; '' when the experiment used none. */
  entity: string;
  /** Milliseconds since the epoch when the token was signed. */
  issuedAt: number;
}

/** Claims of a token that passed verification, with what dedupe and audit need on top. */
export interface VerifiedFeedbackClaims extends FeedbackClaims {
  /** Milliseconds since the epoch after which the token is refused. */
  expiresAt: number;
  /** Id of the key that signed the token. */
  keyId: string;
}
