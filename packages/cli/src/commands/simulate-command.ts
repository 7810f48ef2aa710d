import { parseArgs } from 'node:util';
import { parseRates, simulateUsers, type SimulationTally } from '../simulate/simulated-users.js';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';

/** Requests per second a simulation sends by default. */
export const DEFAULT_SIMULATION_RATE = 50;
/** Simulated users by default. */
export const DEFAULT_SIMULATED_USERS = 2_000;

const HELP = [
  'Usage: infermesh simulate --model NAME --rates a=0.05,b=0.15 [--gateway URL] [--rate 50] [--users 2000] [--requests N]',
  '',
  "Sends simulated users' predictions to the gateway and, for each answer, a reward (1 with the serving",
  "variant's rate, else 0) to /v1/feedback, printing what each variant served and earned. Against",
  '`infermesh up`, the experiment line moves traffic to the better variant within minutes.',
  '',
  'Options:',
  '  --gateway <url>     gateway base URL (default http://127.0.0.1:8080)',
  '  --model <name>      model to call (required)',
  '  --rates <list>      true reward rate per variant, e.g. a=0.05,b=0.15 (required)',
  `  --rate <n>          requests per second (default ${DEFAULT_SIMULATION_RATE})`,
  `  --users <n>         distinct users (default ${DEFAULT_SIMULATED_USERS})`,
  '  --requests <n>      stop after n requests (default: until Ctrl-C)',
].join('\n');

function describe(tally: SimulationTally): string {
  const variants = [...tally.byVariant].sort(([a], [b]) => a.localeCompare(b)).map(([name, counts]) => `${name} ${counts.served} served, ${counts.rewarded} rewarded`);
  return `[simulate] ${tally.requests} requests (${tally.failed} failed): ${variants.join(' · ')}`;
}

/** `infermesh simulate`: synthetic users with feedback, to watch an experiment learn. */
export const simulateCommand: Command = {
  help: () => HELP,
  async run(argv) {
    let options: Parameters<typeof simulateUsers>[0];
    try {
      const { values } = parseArgs({
        args: [...argv],
        options: {
          gateway: { type: 'string', default: 'http://127.0.0.1:8080' },
          model: { type: 'string' },
          rates: { type: 'string' },
          rate: { type: 'string', default: String(DEFAULT_SIMULATION_RATE) },
          users: { type: 'string', default: String(DEFAULT_SIMULATED_USERS) },
          requests: { type: 'string' },
        },
      });
      if (values.model === undefined || values.rates === undefined) throw new Error('--model and --rates are required');
      const rate = Number(values.rate);
      const users = Number(values.users);
      const requests = values.requests === undefined ? undefined : Number(values.requests);
      if (!(rate > 0) || !(Number.isInteger(users) && users > 0) || (requests !== undefined && !(Number.isInteger(requests) && requests > 0))) {
        throw new Error('--rate, --users and --requests take positive numbers');
      }
      options = { gatewayUrl: values.gateway.replace(/\/$/, ''), model: values.model, rates: parseRates(values.rates), users, rate, requests, random: Math.random };
    } catch (error) {
      process.stderr.write(`infermesh simulate: ${(error as Error).message}\n\n${HELP}\n`);
      return EXIT_USAGE;
    }
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      let printedAt = 0;
      const tally = await simulateUsers(options, abort.signal, (progress) => {
        if (performance.now() - printedAt < 2_000) return;
        printedAt = performance.now();
        process.stdout.write(`${describe(progress)}\n`);
      });
      process.stdout.write(`${describe(tally)}\n`);
      return tally.failed > 0 && tally.failed === tally.requests ? EXIT_FAILURE : 0;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};
