import { parseArgs } from 'node:util';
import { EXIT_FAILURE, EXIT_USAGE, type Command } from './command.js';

/** Seconds a call to the gateway may take. */
const CALL_TIMEOUT_SECONDS = 10;
/** The gateway asked when none is named. */
const DEFAULT_GATEWAY_URL = 'http://127.0.0.1:8080';

const HELP = [
  'Usage: infermesh experiments conclude|reopen MODEL [--winner V] [--gateway URL] [--admin-token TOKEN]',
  '',
  'Concludes an experiment now, or reopens a concluded one, through the gateway',
  '(POST /v1/experiments/{model}/conclude | reopen). `conclude` routes all live traffic to the',
  'winner (the leader of the current record when --winner is not given) and, when the experiment',
  'has a conclude.promote block, promotes the winner\'s version to that deployment. `reopen` clears',
  'the conclusion and any guardrail trip; the policy routes again (a promotion already made stays).',
  '',
  'Options:',
  '  --winner <variant>     the winning variant (conclude only; default: the record\'s leader)',
  `  --gateway <url>        gateway base URL (default ${DEFAULT_GATEWAY_URL})`,
  '  --admin-token <token>  the gateway\'s --admin-token (default $INFERMESH_ADMIN_TOKEN)',
].join('\n');

/** `infermesh experiments conclude|reopen`: a person's conclusion of an experiment. */
export const experimentsCommand: Command = {
  help: () => HELP,
  async run(argv, env) {
    let parsed;
    try {
      parsed = parseArgs({
        args: [...argv],
        options: { winner: { type: 'string' }, gateway: { type: 'string', default: DEFAULT_GATEWAY_URL }, 'admin-token': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
        allowPositionals: true,
      });
    } catch (error) {
      process.stderr.write(`infermesh experiments: ${(error as Error).message}\n`);
      return EXIT_USAGE;
    }
    const { values, positionals } = parsed;
    if (values.help === true) {
      process.stdout.write(`${HELP}\n`);
      return 0;
    }
    const [action, model] = positionals;
    if ((action !== 'conclude' && action !== 'reopen') || model === undefined || positionals.length !== 2) {
      process.stderr.write('infermesh experiments: expected `conclude MODEL` or `reopen MODEL` (see --help)\n');
      return EXIT_USAGE;
    }
    if (action === 'reopen' && values.winner !== undefined) {
      process.stderr.write('infermesh experiments: --winner applies to conclude only\n');
      return EXIT_USAGE;
    }
    const token = values['admin-token'] ?? env.INFERMESH_ADMIN_TOKEN;
    if (token === undefined || token === '') {
      process.stderr.write('infermesh experiments: an admin token is required (--admin-token or INFERMESH_ADMIN_TOKEN)\n');
      return EXIT_USAGE;
    }
    const url = `${values.gateway.replace(/\/$/, '')}/v1/experiments/${encodeURIComponent(model)}/${action}`;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(values.winner === undefined ? {} : { winner: values.winner }),
        signal: AbortSignal.timeout(CALL_TIMEOUT_SECONDS * 1000),
      });
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string; message?: string }; concluded?: { winner?: string } | null; reopenedAt?: number | null };
      if (!response.ok) {
        process.stderr.write(`infermesh experiments: ${response.status} ${body.error?.code ?? ''} ${body.error?.message ?? ''}`.trimEnd() + '\n');
        return EXIT_FAILURE;
      }
      const what = action === 'conclude' ? `concluded${body.concluded?.winner === undefined ? ' (winner: the record\'s leader)' : ` (winner: ${body.concluded.winner})`}` : 'reopened';
      process.stdout.write(`${model}: ${what}; the aggregator applies it with its next record\n`);
      return 0;
    } catch (error) {
      process.stderr.write(`infermesh experiments: cannot reach ${values.gateway}: ${(error as Error).message}\n`);
      return EXIT_FAILURE;
    }
  },
};
