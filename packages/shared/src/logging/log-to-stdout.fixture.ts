import { createLogger } from './create-logger.js';

// A process logging to stdout the way every infermesh process does: `<count> <then>`, where then
// is `wait` (stay alive, log nothing more), `exit` (process.exit at once) or `throw` (crash).
const [count = '1', then = 'wait'] = process.argv.slice(2);
const logger = createLogger({ service: 'fixture', level: 'info' });
for (let index = 0; index < Number(count); index += 1) logger.info({ index }, 'line');
if (then === 'exit') process.exit(0);
if (then === 'throw') throw new Error('crashed');
setTimeout(() => undefined, 60_000);
