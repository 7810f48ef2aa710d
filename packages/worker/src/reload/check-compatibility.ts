import { describeSpec, InfermeshError, type TensorSpec } from '@infermesh/shared';

/** Version metadata flag that lets a new version change its inputs. */
export const ALLOW_INPUT_CHANGE_FLAG = 'allowInputChange';

/**
 * Throws INCOMPATIBLE_MODEL when a new version's inputs differ from the serving version's:
 * clients built against the old inputs would start failing the moment it swapped in.
 */
export function checkInputCompatibility(previous: readonly TensorSpec[], next: readonly TensorSpec[], version: string): void {
  const describeAll = (specs: readonly TensorSpec[]) => specs.map((spec) => `${spec.name} ${describeSpec(spec)}`).sort().join(', ');
  const before = describeAll(previous);
  const after = describeAll(next);
  if (before !== after) {
    throw new InfermeshError(
      'INCOMPATIBLE_MODEL',
      `version '${version}' changes the model's inputs from [${before}] to [${after}]; set metadata.${ALLOW_INPUT_CHANGE_FLAG}=true on the version to allow it`,
      { details: { previous: before, next: after } },
    );
  }
}
