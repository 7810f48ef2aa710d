import { InfermeshError } from '@infermesh/shared';

const UNIT_MS: Readonly<Record<string, number>> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `--from`: an ISO time (`2026-12-07T10:00:00Z`), or an age before `now` (`30m`, `12h`, `7d`); epoch milliseconds. */
export function parseSince(text: string, now: number): number {
  const age = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text.trim());
  if (age !== null) return now - Number(age[1]) * UNIT_MS[age[2]!]!;
  const at = Date.parse(text);
  if (Number.isNaN(at)) throw new InfermeshError('INVALID_ARGUMENT', `--from '${text}' is neither an ISO time nor an age such as 30m, 12h or 7d`);
  return at;
}
