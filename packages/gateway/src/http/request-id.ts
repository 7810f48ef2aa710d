import { randomUUID } from 'node:crypto';

/** What a client's x-request-id may look like to be kept: anything else is replaced. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's correlation id: the client's, when it is a sane token, else a new UUID. */
export function resolveRequestId(given: string | string[] | undefined): string {
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : randomUUID();
}
