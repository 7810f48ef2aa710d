import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { integerModel, logisticRegressionModel, VERSIONED_WEIGHTS } from '../fixtures/onnx/fixture-models.js';

/** An artifact file written for a test, with its checksum. */
export interface ArtifactFile {
  path: string;
  sha256: string;
}

/** Writes artifacts for a model's versions: good ones, one with other inputs, and a corrupt one. */
export function writeVersionArtifacts(): Record<'v1' | 'v2' | 'v3' | 'otherInputs' | 'corrupt', ArtifactFile> {
  const dir = mkdtempSync(join(tmpdir(), 'infermesh-versions-'));
  const write = (name: string, bytes: Buffer): ArtifactFile => {
    const path = join(dir, name);
    writeFileSync(path, bytes);
    return { path, sha256: createHash('sha256').update(bytes).digest('hex') };
  };
  return {
    v1: write('v1.onnx', logisticRegressionModel(VERSIONED_WEIGHTS.v1)),
    v2: write('v2.onnx', logisticRegressionModel(VERSIONED_WEIGHTS.v2)),
    v3: write('v3.onnx', logisticRegressionModel(VERSIONED_WEIGHTS.v3)),
    otherInputs: write('other-inputs.onnx', integerModel()),
    corrupt: write('corrupt.onnx', randomBytes(4096)),
  };
}

/** A ModelInfer request for the logistic-regression fixture, in the snake_case wire form. */
export function logisticRequest(model: string): object {
  return { model_name: model, inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], contents: { fp32_contents: [0.5, 1, 2, 0.1] } }] };
}

/** A model name no other test uses. */
export function uniqueModelName(base: string): string {
  return `${base}-${randomBytes(4).toString('hex')}`;
}
