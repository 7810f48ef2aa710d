import { InfermeshError } from '@infermesh/shared';

/** Artifact formats a worker can serve. */
export const ARTIFACT_FORMATS = ['onnx', 'lookup'] as const;

/** An artifact format: `onnx` (onnxruntime) or `lookup` (JSON lines keyed by an id). */
export type ArtifactFormat = (typeof ARTIFACT_FORMATS)[number];

/** The format named explicitly, else the one the URI's file extension implies. */
export function resolveArtifactFormat(uri: string, explicit?: string): ArtifactFormat {
  if (explicit !== undefined) {
    if ((ARTIFACT_FORMATS as readonly string[]).includes(explicit)) return explicit as ArtifactFormat;
    throw new InfermeshError('ARTIFACT_UNSUPPORTED_FORMAT', `unknown artifact format '${explicit}'; expected one of ${ARTIFACT_FORMATS.join(', ')}`);
  }
  const path = uri.split(/[?#]/)[0] ?? uri;
  if (path.endsWith('.onnx')) return 'onnx';
  if (path.endsWith('.jsonl') || path.endsWith('.ndjson')) return 'lookup';
  throw new InfermeshError(
    'ARTIFACT_UNSUPPORTED_FORMAT',
    `cannot tell the format of ${uri} from its name; pass --format (${ARTIFACT_FORMATS.join(' or ')})`,
  );
}
