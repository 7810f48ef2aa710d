/** A `{name}` placeholder in a URL template. */
const PLACEHOLDER = /\{([^{}/?#]+)\}/g;

/** A URL template filled from an entity, or the placeholders the entity had no value for. */
export type ResolvedUrl = { ok: true; url: string } | { ok: false; missingKeys: string[] };

/**
 * Fills every `{key}` in template with the entity's value for key, URL-encoded as one path
 * segment or query value. An absent key or an empty string is missing: requesting
 * `/users/` instead of `/users/{userId}` would ask a different question.
 */
export function resolveUrl(template: string, entity: Readonly<Record<string, string | number>>): ResolvedUrl {
  const missingKeys: string[] = [];
  const url = template.replace(PLACEHOLDER, (placeholder, key: string) => {
    // hasOwn, not `in`: a template naming {constructor} must not reach Object.prototype.
    const value = Object.hasOwn(entity, key) ? entity[key] : undefined;
    if (value === undefined || value === '') {
      missingKeys.push(key);
      return placeholder;
    }
    return encodeURIComponent(String(value));
  });
  return missingKeys.length === 0 ? { ok: true, url } : { ok: false, missingKeys };
}
