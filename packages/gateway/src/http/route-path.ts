/** A path parameter segment of a route pattern: `:model`. */
const PARAMETER_SEGMENT = /^:([A-Za-z_][A-Za-z0-9_]*)$/;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A route pattern compiled to one regular expression: each parameter a capture group, in order. */
export interface CompiledPath {
  pattern: RegExp;
  /** Parameter names by capture group: `parameters[0]` is group 1. */
  parameters: readonly string[];
}

/**
 * Compiles an express-style pattern (`/v2/models/:model/infer`) to an anchored, case-sensitive
 * expression in which each parameter matches `parameter` (a regular expression source without
 * groups). Compiled once, when the router is built: matching a request then costs one `exec`.
 */
export function compilePath(path: string, parameter: string): CompiledPath {
  const parameters: string[] = [];
  const source = path
    .split('/')
    .map((segment) => {
      const name = PARAMETER_SEGMENT.exec(segment)?.[1];
      if (name === undefined) return escapeRegExp(segment);
      parameters.push(name);
      return `(${parameter})`;
    })
    .join('/');
  return { pattern: new RegExp(`^${source}$`), parameters };
}
