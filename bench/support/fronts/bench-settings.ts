/** Settings of `npm run bench -- fronts`, each overridable by an environment variable for quick runs. */

/** Seconds each measured run lasts (BENCH_DURATION_S). */
export const DEFAULT_DURATION_S = 10;
/** Seconds of the same load before each measured run, not counted (BENCH_WARMUP_S). */
export const DEFAULT_WARMUP_S = 5;
/** Rounds of every series; the report gives the median and the range (BENCH_ROUNDS). */
export const DEFAULT_ROUNDS = 2;
/** Keep-alive connections of the saturating HTTP load, and concurrent calls of the saturating gRPC load (BENCH_CONNECTIONS). */
export const DEFAULT_CONNECTIONS = 64;
/** wrk threads; one thread drives 60k+ requests/s here and leaves the cores to the servers (BENCH_WRK_THREADS). */
export const DEFAULT_WRK_THREADS = 1;
/** Requests per second of the light-load series (BENCH_LIGHT_RATE); the issue asks for at most 200. */
export const DEFAULT_LIGHT_RATE = 200;
/** Concurrent callers ghz spreads the light rate over (BENCH_LIGHT_CONCURRENCY). */
export const DEFAULT_LIGHT_CONCURRENCY = 8;
/** Distinct entity ids the requests rotate through: warm feature cache, sticky experiment positions (BENCH_USERS). */
export const DEFAULT_USERS = 1_000;

/**
 * How a series is loaded: saturation (as many requests as the front answers), light (a fixed
 * low rate), or light with the vCPUs kept awake (the same rate while a busy loop at idle
 * priority per CPU keeps the machine from halting idle vCPUs, whose wake-up costs this VM
 * about a millisecond per hop: what the code adds, without the machine's wake-ups).
 */
export type LoadKind = 'saturation' | 'light' | 'light-awake';
/** Every load kind, in the order a front runs them. */
export const LOAD_KINDS: readonly LoadKind[] = ['saturation', 'light', 'light-awake'];

/** The run's settings. */
export interface BenchSettings {
  durationS: number;
  warmUpS: number;
  rounds: number;
  connections: number;
  wrkThreads: number;
  lightRatePerS: number;
  lightConcurrency: number;
  users: number;
  /** Measure the KServe peer (BENCH_KSERVE=0 skips it). */
  kserve: boolean;
  /** Start Kafka for the events-on series (BENCH_KAFKA=0 skips them). */
  kafka: boolean;
  /** Run only the stages whose name contains one of these (BENCH_STAGES, comma-separated); empty runs all. */
  stages: string[];
  /** Loads to run (BENCH_LOADS, comma-separated: saturation, light, light-awake); all by default. */
  loads: LoadKind[];
  /** When set (BENCH_CPU_PROF_DIR), every gateway runs under `node --cpu-prof` writing its profile there. */
  cpuProfileDir?: string;
}

/** True when the run measures only part of the benchmark (or under a profiler): its results are printed, not written. */
export function isPartialRun(settings: BenchSettings): boolean {
  return settings.stages.length > 0 || settings.loads.length < LOAD_KINDS.length || settings.cpuProfileDir !== undefined;
}

/** Reads the settings from `env`; a malformed number stops the bench with the variable's name. */
export function readBenchSettings(env: NodeJS.ProcessEnv = process.env): BenchSettings {
  const positive = (name: string, fallback: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got "${text}"`);
    return value;
  };
  const integer = (name: string, fallback: number): number => {
    const value = positive(name, fallback);
    if (!Number.isInteger(value)) throw new Error(`${name} must be a whole number, got "${env[name]}"`);
    return value;
  };
  const list = (name: string): string[] => (env[name] ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
  const loads = (given: string[]): LoadKind[] => {
    if (given.length === 0) return [...LOAD_KINDS];
    const unknown = given.filter((load) => !(LOAD_KINDS as readonly string[]).includes(load));
    if (unknown.length > 0) throw new Error(`BENCH_LOADS takes ${LOAD_KINDS.join(', ')}, got "${unknown.join(',')}"`);
    return LOAD_KINDS.filter((load) => given.includes(load));
  };
  return {
    durationS: integer('BENCH_DURATION_S', DEFAULT_DURATION_S),
    warmUpS: integer('BENCH_WARMUP_S', DEFAULT_WARMUP_S),
    rounds: integer('BENCH_ROUNDS', DEFAULT_ROUNDS),
    connections: integer('BENCH_CONNECTIONS', DEFAULT_CONNECTIONS),
    wrkThreads: integer('BENCH_WRK_THREADS', DEFAULT_WRK_THREADS),
    lightRatePerS: integer('BENCH_LIGHT_RATE', DEFAULT_LIGHT_RATE),
    lightConcurrency: integer('BENCH_LIGHT_CONCURRENCY', DEFAULT_LIGHT_CONCURRENCY),
    users: integer('BENCH_USERS', DEFAULT_USERS),
    kserve: env.BENCH_KSERVE !== '0',
    kafka: env.BENCH_KAFKA !== '0',
    stages: list('BENCH_STAGES'),
    loads: loads(list('BENCH_LOADS')),
    ...(env.BENCH_CPU_PROF_DIR ? { cpuProfileDir: env.BENCH_CPU_PROF_DIR } : {}),
  };
}
