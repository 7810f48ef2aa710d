import { InfermeshError } from '@infermesh/shared/errors';

/** A policy to evaluate offline: the probability it would give each variant. */
export interface CandidatePolicy {
  /** As the user wrote it, e.g. `weights:a=1,b=3`. */
  readonly name: string;
  /** Probability of each variant; variants it does not name get 0. Sums to 1. */
  readonly probabilities: ReadonlyMap<string, number>;
}

/** Forms `--policy` takes, for help texts and errors. */
export const CANDIDATE_POLICY_FORMS = ['always:VARIANT', 'weights:A=W,B=W', 'uniform', 'record'] as const;

/** What a policy spec is resolved against: the experiment's variants, and the current record's shares (for `record`). */
export interface PolicyContext {
  readonly variants: readonly string[];
  /** The published record's live shares; needed only by `record`. */
  readonly recordShares?: ReadonlyMap<string, number>;
}

/**
 * Parses `always:b`, `weights:a=1,b=3`, `uniform` or `record` into probabilities over the
 * experiment's variants; INVALID_ARGUMENT names what is wrong.
 */
export function parseCandidatePolicy(spec: string, context: PolicyContext): CandidatePolicy {
  const text = spec.trim();
  const [kind, argument] = splitOnce(text, ':');
  switch (kind) {
    case 'uniform': {
      if (argument !== undefined) throw invalid(text, "'uniform' takes no argument");
      const share = 1 / context.variants.length;
      return { name: text, probabilities: new Map(context.variants.map((variant) => [variant, share])) };
    }
    case 'always': {
      if (argument === undefined || argument === '') throw invalid(text, "'always' needs a variant, e.g. always:b");
      requireKnown(text, argument, context.variants);
      return { name: text, probabilities: new Map([[argument, 1]]) };
    }
    case 'weights':
      return { name: text, probabilities: normalise(text, parseWeights(text, argument, context.variants)) };
    case 'record': {
      if (argument !== undefined) throw invalid(text, "'record' takes no argument");
      if (context.recordShares === undefined || context.recordShares.size === 0) throw invalid(text, 'no published record with shares was found for the model');
      return { name: text, probabilities: normalise(text, context.recordShares) };
    }
    default:
      throw invalid(text, `expected one of ${CANDIDATE_POLICY_FORMS.join(', ')}`);
  }
}

function parseWeights(spec: string, argument: string | undefined, variants: readonly string[]): Map<string, number> {
  if (argument === undefined || argument === '') throw invalid(spec, "'weights' needs variant=weight pairs, e.g. weights:a=1,b=3");
  const weights = new Map<string, number>();
  for (const pair of argument.split(',')) {
    const [variant, value] = splitOnce(pair.trim(), '=');
    const weight = value === undefined ? Number.NaN : Number(value);
    if (variant === '' || !(weight >= 0) || !Number.isFinite(weight)) throw invalid(spec, `'${pair}' is not variant=weight with a finite weight >= 0`);
    requireKnown(spec, variant, variants);
    if (weights.has(variant)) throw invalid(spec, `variant '${variant}' is weighted twice`);
    weights.set(variant, weight);
  }
  return weights;
}

function normalise(spec: string, weights: ReadonlyMap<string, number>): Map<string, number> {
  const total = [...weights.values()].reduce((sum, weight) => sum + weight, 0);
  if (!(total > 0)) throw invalid(spec, 'the weights add up to 0');
  return new Map([...weights].filter(([, weight]) => weight > 0).map(([variant, weight]) => [variant, weight / total]));
}

function requireKnown(spec: string, variant: string, variants: readonly string[]): void {
  if (!variants.includes(variant)) throw invalid(spec, `unknown variant '${variant}' (known: ${variants.join(', ')})`);
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator);
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)];
}

function invalid(spec: string, problem: string): InfermeshError {
  return new InfermeshError('INVALID_ARGUMENT', `--policy '${spec}': ${problem}`, { details: { policy: spec, forms: [...CANDIDATE_POLICY_FORMS] } });
}
