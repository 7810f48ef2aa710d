/** Array indexes in a dotted path: `items.0.price`. */
const INDEX = /^(0|[1-9][0-9]*)$/;

/**
 * The value at a dotted path in parsed JSON, or undefined when any step is absent.
 * Only own properties are followed, so `constructor` or `__proto__` in a path never
 * reaches a prototype; numeric segments index arrays.
 */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const segment of path.split('.')) {
    if (Array.isArray(current)) {
      if (!INDEX.test(segment)) return undefined;
      current = current[Number(segment)];
    } else if (typeof current === 'object' && current !== null && Object.hasOwn(current, segment)) {
      current = (current as Record<string, unknown>)[segment];
    } else {
      return undefined;
    }
  }
  return current;
}
