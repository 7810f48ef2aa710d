import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { InfermeshError } from '@infermesh/shared';

/** SHA-256 of a file, hex, streamed so large artifacts never sit in memory twice. */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** Throws ARTIFACT_CHECKSUM_MISMATCH unless the file's SHA-256 is `expected`. */
export async function verifySha256(path: string, expected: string, uri: string): Promise<void> {
  const actual = await sha256OfFile(path);
  if (actual !== expected.toLowerCase()) {
    throw new InfermeshError('ARTIFACT_CHECKSUM_MISMATCH', `artifact checksum mismatch for ${uri}: expected sha256 ${expected}, file has ${actual}`, {
      details: { uri, expected, actual },
    });
  }
}
