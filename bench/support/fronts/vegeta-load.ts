/** Light HTTP load at a fixed rate with vegeta: requests leave on schedule whether or not earlier answers arrived (open loop). */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assertRan, latencyFromNanos, runTool, type LoadResult } from './load-result.js';
import { USER_PLACEHOLDER, type HttpTarget } from './wrk-load.js';

/** Seconds a request may take before vegeta gives up on it (which invalidates the series). */
const VEGETA_TIMEOUT_S = 5;

/** One line of `vegeta encode --to json`. */
interface VegetaHit {
  code: number;
  latency: number;
  error: string;
  body?: string;
}

/** Sends `ratePerS` requests per second to `target` for `durationS` seconds and returns every answer's latency and status. */
export async function runVegeta(vegeta: string, target: HttpTarget, ratePerS: number, durationS: number): Promise<LoadResult> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-vegeta-'));
  try {
    const targetsFile = join(dir, 'targets.jsonl');
    const resultsFile = join(dir, 'results.bin');
    const lines = Array.from({ length: target.users }, (_, index) =>
      JSON.stringify({
        method: 'POST',
        url: `${target.baseUrl}${target.path}`,
        body: Buffer.from(target.bodyTemplate.replaceAll(USER_PLACEHOLDER, `u${index + 1}`)).toString('base64'),
        header: { 'Content-Type': [target.contentType] },
      }),
    );
    writeFileSync(targetsFile, `${lines.join('\n')}\n`);
    const attack = await runTool(vegeta, [
      'attack',
      '-format=json',
      `-targets=${targetsFile}`,
      `-rate=${ratePerS}/1s`,
      `-duration=${durationS}s`,
      `-timeout=${VEGETA_TIMEOUT_S}s`,
      `-output=${resultsFile}`,
    ]);
    assertRan('vegeta attack', attack);
    const encoded = await runTool(vegeta, ['encode', '--to=json', resultsFile]);
    assertRan('vegeta encode', encoded);
    const hits = encoded.stdout
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as VegetaHit);
    const failed = hits.filter((hit) => hit.code !== 200 || hit.error !== '');
    const first = failed[0];
    return {
      tool: 'vegeta',
      requests: hits.length,
      failures: failed.length,
      ...(first === undefined ? {} : { failureSample: `${first.code} ${first.error || Buffer.from(first.body ?? '', 'base64').toString().slice(0, 160)}` }),
      durationS,
      throughputPerS: hits.length / durationS,
      latencyMs: latencyFromNanos(hits.map((hit) => hit.latency)),
      targetRatePerS: ratePerS,
      generatorCpuMs: attack.cpuMs,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
