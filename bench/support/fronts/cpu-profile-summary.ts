/**
 * A text "flame graph" of a V8 .cpuprofile (what `node --cpu-prof` writes): the functions and
 * modules with the most self time, and the project's own functions with the most total time,
 * each pointed back at its TypeScript source through the built files' source maps.
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Rows each top list shows by default. */
export const DEFAULT_TOP = 15;

/** The parts of a V8 CPU profile the summary reads. */
export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** One row of a top list: a function or module and its share of the sampled time. */
export interface ProfileRow {
  name: string;
  /** Where it is: repo-relative TypeScript file:line for the project's code, else a package or the built file. */
  location: string;
  ms: number;
  /** Share of all sampled time (idle excluded), 0..1. */
  share: number;
}

/** A profile's top lists. */
export interface ProfileSummary {
  /** Sampled milliseconds, idle excluded. */
  busyMs: number;
  idleMs: number;
  /** Self time by function; native code (no script) is named with the JavaScript function that called it. */
  selfByFunction: ProfileRow[];
  selfByModule: ProfileRow[];
  /** Self time by module, with Node's own code and native code charged to the package or project module that called it. */
  chargedByModule: ProfileRow[];
  /** The project's own functions (packages/*) by time spent in them and everything they called. */
  totalByProjectFunction: ProfileRow[];
}

/** V8's pseudo-frames: not JavaScript, reported under their own names. */
export const IDLE = '(idle)';

/** Source maps of built files, loaded once per file (undefined when there is none). */
const sourceMaps = new Map<string, SourceMap | undefined>();

function sourceMapOf(file: string): SourceMap | undefined {
  if (!sourceMaps.has(file)) {
    const mapFile = `${file}.map`;
    sourceMaps.set(file, existsSync(mapFile) ? new SourceMap(JSON.parse(readFileSync(mapFile, 'utf8')) as ConstructorParameters<typeof SourceMap>[0]) : undefined);
  }
  return sourceMaps.get(file);
}

/** The module a frame belongs to: an npm package, a node: builtin, a project package, or a V8 pseudo-frame. */
export function moduleOf(url: string, functionName: string): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return `node:${url.slice('node:'.length).split('/')[0]}`;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nodeModules = path.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) {
    const [scopeOrName, name] = path.slice(nodeModules + '/node_modules/'.length).split('/');
    return scopeOrName?.startsWith('@') ? `${scopeOrName}/${name}` : (scopeOrName ?? path);
  }
  const project = /\/packages\/([^/]+)\/(?:dist|src)\/(.*?)\/?[^/]*$/.exec(path);
  if (project !== null) return `@infermesh/${project[1]}${project[2] ? `/${project[2]}` : ''}`;
  return relative(ROOT, path) || path;
}

/** file:line of a frame, mapped to the TypeScript source when the built file has a source map. */
export function locationOf(url: string, lineNumber: number, columnNumber: number): string {
  if (url === '') return '';
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const nodeModules = path.lastIndexOf('/node_modules/');
  if (nodeModules >= 0) return `${path.slice(nodeModules + 1)}:${lineNumber + 1}`;
  const entry = sourceMapOf(path)?.findEntry(lineNumber, columnNumber);
  if (entry !== undefined && 'originalSource' in entry && entry.originalSource) {
    const source = entry.originalSource.startsWith('file://') ? fileURLToPath(entry.originalSource) : new URL(entry.originalSource, `file://${path}`).pathname;
    return `${relative(ROOT, source)}:${entry.originalLine + 1}`;
  }
  return `${relative(ROOT, path)}:${lineNumber + 1}`;
}

/** A stretch of a profile's clock (CLOCK_MONOTONIC, microseconds). */
export interface TimeWindow {
  start: number;
  end: number;
}

/** The pid in Node's default profile file name, CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile. */
export function pidOfProfileFile(file: string): number | undefined {
  const pid = Number(file.split('.')[3]);
  return Number.isInteger(pid) ? pid : undefined;
}

/** Each node's parent id. */
export function parentsOf(profile: CpuProfile): Map<number, number> {
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  return parentOf;
}

/** Microseconds sampled in each node itself, counting only samples inside `windows` when any are given. */
export function windowedSelfUs(profile: CpuProfile, windows: readonly TimeWindow[] = []): Map<number, number> {
  const selfUs = new Map<number, number>();
  const inWindows = (at: number) => windows.length === 0 || windows.some((window) => at >= window.start && at < window.end);
  // timeDeltas[i] is the time before sample i; the sample stands for the interval that follows it.
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    at += profile.timeDeltas[index] ?? 0;
    if (inWindows(at)) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index + 1] ?? 0));
  });
  return selfUs;
}

/**
 * Summarises `profile` into top lists of `top` rows each, counting only samples inside
 * `windows` when any are given (the measured load, not start-up or warm-up).
 */
export function summariseCpuProfile(profile: CpuProfile, top = DEFAULT_TOP, windows: readonly TimeWindow[] = []): ProfileSummary {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = parentsOf(profile);
  const selfUs = windowedSelfUs(profile, windows);

  const keyOf = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    return `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}\u0000${frame.columnNumber}`;
  };
  const selfByFunction = new Map<string, number>();
  const selfByModule = new Map<string, number>();
  const chargedByModule = new Map<string, number>();
  const isPseudo = (name: string) => name.startsWith('(');
  const isNodeOrNative = (module: string) => module === '(native)' || module.startsWith('node:');
  /** Native code is reported with its nearest JavaScript caller, which is where it can be avoided. */
  const functionKeyOf = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.url !== '' || isPseudo(frame.functionName)) return keyOf(id);
    for (let current = parentOf.get(id); current !== undefined; current = parentOf.get(current)) {
      const caller = byId.get(current)!.callFrame;
      if (caller.url !== '') return `${frame.functionName} ← ${caller.functionName || '(anonymous)'}\u0000${caller.url}\u0000${caller.lineNumber}\u0000${caller.columnNumber}`;
    }
    return keyOf(id);
  };
  /** The first module up the stack that is neither Node's own code nor native code. */
  const chargedModuleOf = (id: number) => {
    const frame = byId.get(id)!.callFrame;
    if (frame.url === '' && isPseudo(frame.functionName)) return frame.functionName;
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const caller = byId.get(current)!.callFrame;
      const module = moduleOf(caller.url, caller.functionName);
      if (!isNodeOrNative(module) && !isPseudo(module)) return module;
    }
    return 'node (no package on the stack: sockets, timers, the HTTP parser)';
  };
  const totalByFunction = new Map<string, number>();
  let idleUs = 0;
  let busyUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === IDLE) {
      idleUs += us;
      continue;
    }
    busyUs += us;
    const functionKey = functionKeyOf(id);
    selfByFunction.set(functionKey, (selfByFunction.get(functionKey) ?? 0) + us);
    const module = moduleOf(frame.url, frame.functionName);
    selfByModule.set(module, (selfByModule.get(module) ?? 0) + us);
    const charged = chargedModuleOf(id);
    chargedByModule.set(charged, (chargedByModule.get(charged) ?? 0) + us);
    // Total time: every distinct function on the stack gets the sample once (recursion counted once).
    const seen = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) {
      const key = keyOf(current);
      if (seen.has(key)) continue;
      seen.add(key);
      totalByFunction.set(key, (totalByFunction.get(key) ?? 0) + us);
    }
  }

  const row = (key: string, us: number): ProfileRow => {
    const [functionName, url, line, column] = key.split('\u0000') as [string, string, string, string];
    return { name: functionName || '(anonymous)', location: locationOf(url, Number(line), Number(column)), ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs };
  };
  const topOf = <T>(entries: Iterable<[string, number]>, make: (key: string, us: number) => T) =>
    [...entries].sort((a, b) => b[1] - a[1]).slice(0, top).map(([key, us]) => make(key, us));
  const isProject = (key: string) => /\/packages\/[^/]+\/(?:dist|src)\//.test(key.split('\u0000')[1] ?? '');
  const moduleRow = (name: string, us: number): ProfileRow => ({ name, location: '', ms: us / 1000, share: busyUs === 0 ? 0 : us / busyUs });
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    selfByFunction: topOf(selfByFunction, row),
    selfByModule: topOf(selfByModule, moduleRow),
    chargedByModule: topOf(chargedByModule, moduleRow),
    totalByProjectFunction: topOf([...totalByFunction].filter(([key]) => isProject(key)), row),
  };
}

/** The summary as Markdown tables (the charged module list, functions by self time, the project's functions by total time). */
export function cpuProfileMarkdown(summary: ProfileSummary): string {
  const percent = (share: number) => `${(share * 100).toFixed(1)} %`;
  const table = (title: string, rows: ProfileRow[], withLocation: boolean) =>
    [
      `**${title}**`,
      '',
      withLocation ? '| self share | ms | function | where |' : '| self share | ms | module |',
      withLocation ? '|---:|---:|---|---|' : '|---:|---:|---|',
      ...rows.map((row) => (withLocation ? `| ${percent(row.share)} | ${row.ms.toFixed(0)} | \`${row.name}\` | ${row.location || '—'} |` : `| ${percent(row.share)} | ${row.ms.toFixed(0)} | ${row.name} |`)),
    ].join('\n');
  const totals = [
    '**The project\'s own functions by total time (self and everything they call)**',
    '',
    '| total share | ms | function | where |',
    '|---:|---:|---|---|',
    ...summary.totalByProjectFunction.map((row) => `| ${percent(row.share)} | ${row.ms.toFixed(0)} | \`${row.name}\` | ${row.location} |`),
  ].join('\n');
  return [
    `Sampled ${(summary.busyMs / 1000).toFixed(1)} s busy, ${(summary.idleMs / 1000).toFixed(1)} s idle; shares are of the busy time.`,
    // The plain by-module list (selfByModule) stays out: Node's internals and native code swamp it.
    table('Self time by module, Node\'s own and native code charged to the package or project module that called it', summary.chargedByModule, false),
    table('Self time by function', summary.selfByFunction, true),
    totals,
  ].join('\n\n');
}
