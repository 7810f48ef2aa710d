/**
 * Randomness for the experiment policy. Everything that needs chance takes a RandomSource
 * as a parameter, so tests, benchmarks and sticky assignment replay it exactly; nothing in
 * the policy calls Math.random().
 */

/** Uniform draws in [0, 1); the only way chance enters the policy. */
export type RandomSource = () => number;

/** FNV-1a 32-bit offset basis. */
const FNV_OFFSET_BASIS = 0x811c9dc5;
/** FNV-1a 32-bit prime. */
const FNV_PRIME = 0x01000193;
/** Increment of the splitmix32 sequence that spreads one hash over four state words (2^32 / golden ratio). */
const SPLITMIX_INCREMENT = 0x9e3779b9;
/** First multiplier of the murmur3 32-bit finaliser. */
const FMIX_MULTIPLIER_1 = 0x85ebca6b;
/** Second multiplier of the murmur3 32-bit finaliser. */
const FMIX_MULTIPLIER_2 = 0xc2b2ae35;
/** 2^32: divides a 32-bit unsigned output into [0, 1). */
const UINT32_RANGE = 2 ** 32;
/** Marsaglia–Tsang squeeze constant: accepts most candidates without a logarithm. */
const GAMMA_SQUEEZE = 0.0331;

const utf8 = new TextEncoder();

/** FNV-1a (32-bit) of a string's UTF-8 bytes: the same number in every process, platform and language. */
export function fnv1a32(text: string): number {
  let hash = FNV_OFFSET_BASIS;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME);
  }
  return hash >>> 0;
}

const rotateLeft = (value: number, bits: number) => (value << bits) | (value >>> (32 - bits));

/**
 * A xoshiro128** generator seeded from `seed`. A number seed is hashed as its decimal string,
 * so `1` and `'1'` give the same sequence. Two replicas given the same seed produce the same
 * draws; that is what makes sticky assignment agree across the mesh. 32 bits per draw.
 */
export function seededRandom(seed: string | number): RandomSource {
  // FNV-1a alone mixes similar strings poorly; splitmix32 (murmur3's finaliser) spreads the
  // hash over the 128-bit state so seeds differing in one character give unrelated streams.
  let splitmix = fnv1a32(String(seed));
  const nextWord = () => {
    splitmix = (splitmix + SPLITMIX_INCREMENT) | 0;
    let word = Math.imul(splitmix ^ (splitmix >>> 16), FMIX_MULTIPLIER_1);
    word = Math.imul(word ^ (word >>> 13), FMIX_MULTIPLIER_2);
    return word ^ (word >>> 16);
  };
  let s0 = nextWord();
  let s1 = nextWord();
  let s2 = nextWord();
  let s3 = nextWord();
  // The all-zero state is xoshiro's one fixed point.
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  return () => {
    const result = Math.imul(rotateLeft(Math.imul(s1, 5), 7), 9) >>> 0;
    const shifted = s1 << 9;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= shifted;
    s3 = rotateLeft(s3, 11);
    return result / UINT32_RANGE;
  };
}

/** A normal draw (Box–Muller, one of the pair; stateless so any RandomSource works). */
export function normal(rng: RandomSource, mean = 0, sd = 1): number {
  // 1 - u lies in (0, 1], so the logarithm is finite.
  const radius = Math.sqrt(-2 * Math.log(1 - rng()));
  return mean + sd * radius * Math.cos(2 * Math.PI * rng());
}

/**
 * A Gamma(shape, scale) draw (mean shape·scale) by Marsaglia and Tsang's method; for
 * shape < 1 it draws Gamma(shape + 1) and multiplies by U^(1/shape).
 * Throws RangeError for a non-positive or non-finite parameter (a caller's bug).
 */
export function gamma(rng: RandomSource, shape: number, scale = 1): number {
  if (!(shape > 0 && scale > 0 && Number.isFinite(shape) && Number.isFinite(scale))) {
    throw new RangeError(`gamma needs finite shape > 0 and scale > 0, got shape ${shape}, scale ${scale}`);
  }
  if (shape < 1) return gamma(rng, shape + 1, scale) * (1 - rng()) ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    const xSquared = x * x;
    if (u < 1 - GAMMA_SQUEEZE * xSquared * xSquared) return d * v * scale;
    if (Math.log(u) < 0.5 * xSquared + d * (1 - v + Math.log(v))) return d * v * scale;
  }
}

/** A Beta(a, b) draw as X / (X + Y) with X ~ Gamma(a), Y ~ Gamma(b). */
export function beta(rng: RandomSource, a: number, b: number): number {
  const x = gamma(rng, a);
  const y = gamma(rng, b);
  const sum = x + y;
  // Both can underflow to 0 for tiny shapes; the mass then sits at the ends in ratio a : b.
  if (sum === 0) return rng() < a / (a + b) ? 1 : 0;
  return x / sum;
}
