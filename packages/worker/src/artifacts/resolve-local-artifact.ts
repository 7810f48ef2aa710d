import { stat } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { InfermeshError } from '@infermesh/shared';

/** The local file behind a `file://` URI or a plain path; fails if it is not a readable file. */
export async function resolveLocalArtifact(uri: string): Promise<string> {
  let path: string;
  if (uri.startsWith('file:')) path = fileURLToPath(uri);
  else if (/^[a-z][a-z0-9+.-]*:\/\//i.test(uri)) {
    throw new InfermeshError('ARTIFACT_NOT_FOUND', `unsupported artifact URI scheme in ${uri}; use file:// or a local path`);
  } else path = uri;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
  } catch (error) {
    throw new InfermeshError('ARTIFACT_NOT_FOUND', `artifact ${uri} cannot be read: ${(error as Error).message}`, { cause: error });
  }
  return path;
}
