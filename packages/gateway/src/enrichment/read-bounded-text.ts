import { untilAborted } from './until-aborted.js';

/** The body as text, or why it was refused. */
export type BoundedTextResult = { ok: true; text: string } | { ok: false; message: string };

/**
 * Reads a response body as UTF-8 text, refusing one larger than maxBytes: a Content-Length
 * above the bound is refused without reading, and the stream is cancelled (which closes the
 * connection) as soon as the bytes read pass the bound, so neither a huge body nor an endless
 * chunked one is ever held in memory beyond maxBytes plus one chunk. The declared length is
 * only a shortcut: a compressed body's length says nothing about its decoded size, so the
 * stream is counted either way. Rejects with the signal's reason once it aborts.
 */
export async function readBoundedText(response: Response, maxBytes: number, signal: AbortSignal): Promise<BoundedTextResult> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    response.body?.cancel().catch(() => undefined);
    return { ok: false, message: `body too large: Content-Length ${declared} exceeds the limit of ${maxBytes} bytes` };
  }
  if (response.body === null) return { ok: true, text: '' };
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  try {
    for (;;) {
      const { done, value } = await untilAborted(reader.read(), signal);
      if (done) break;
      received += value.byteLength;
      if (received > maxBytes) {
        reader.cancel().catch(() => undefined);
        return { ok: false, message: `body too large: more than the limit of ${maxBytes} bytes` };
      }
      chunks.push(value);
    }
  } catch (error) {
    // An abort leaves the read pending; cancelling releases the connection instead of
    // letting the body keep arriving for nobody.
    reader.cancel().catch(() => undefined);
    throw error;
  }
  return { ok: true, text: new TextDecoder().decode(concat(chunks, received)) };
}

function concat(chunks: readonly Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return joined;
}
