import { isAbsolute, relative } from 'node:path';
import { DEMO_MODEL, type MeshPlan } from './mesh-plan.js';

/** Prefix of every command the welcome prints: a reader (and a test) can pick them out. */
export const COMMAND_PREFIX = '  $ ';

/** Prefix of the line naming the dashboard's URL (to open in a browser), which tests pick out too. */
export const DASHBOARD_PREFIX = '  Live dashboard (read-only without the admin token): ';

/** `path` as short as it can be written from `cwd`: relative inside it, absolute outside. */
function shortPath(path: string, cwd: string): string {
  const inside = relative(cwd, path);
  return inside === '' ? '.' : inside.startsWith('..') || isAbsolute(inside) ? path : inside;
}

/** What `infermesh up` prints once the mesh serves: where everything is, and commands to paste. */
export function welcomeText(plan: MeshPlan, adminToken: string, cwd: string = process.cwd()): string {
  const port = new URL(plan.gatewayUrl).port;
  const dir = shortPath(plan.dir, cwd);
  const input = '{"entity": {"userId": "u1"}, "inputs": {"recency": 0.5, "frequency": 1, "monetary": 2, "tenure": 0.1}}';
  const predict = `curl -s localhost:${port}/v1/models/${DEMO_MODEL}/predict -H 'content-type: application/json' -d '${input}'`;
  const source = plan.kafkaBrokers !== undefined ? `--kafka-brokers ${plan.kafkaBrokers}` : `--events-dir ${shortPath(plan.eventsDir, cwd)}`;
  const events = `npx infermesh events tail ${source}`;
  const evaluate = `npx infermesh evaluate --gateway ${plan.gatewayUrl} --model ${DEMO_MODEL} --policy always:b ${source}`;
  const variants = plan.variants.map((variant) => `${variant.name} = ${DEMO_MODEL} ${variant.version} on 127.0.0.1:${variant.port}`).join(', ');
  return [
    '',
    `infermesh is up: gateway ${plan.gatewayUrl}, workers ${variants},`,
    `a Thompson experiment "${DEMO_MODEL}" between a and b, ${plan.realInfrastructure ? 'Consul and Kafka' : `registry, events and logs under ${dir}/`}.`,
    '',
    'From another terminal — a prediction, feedback on one, the experiment (as JSON and in a browser), the event stream:',
    `${COMMAND_PREFIX}${predict}`,
    `${COMMAND_PREFIX}TOKEN=$(${predict} | sed -E 's/.*"feedbackToken":"([^"]+)".*/\\1/')`,
    `${COMMAND_PREFIX}curl -s localhost:${port}/v1/feedback -H 'content-type: application/json' -d "{\\"feedbackToken\\": \\"$TOKEN\\", \\"reward\\": 1}"`,
    `${COMMAND_PREFIX}curl -s localhost:${port}/v1/experiments/${DEMO_MODEL}`,
    `${DASHBOARD_PREFIX}${plan.gatewayUrl}/dashboard/${DEMO_MODEL}`,
    `${COMMAND_PREFIX}${events}`,
    'What sending everyone to b would have earned, estimated from the logged decisions and their propensities:',
    `${COMMAND_PREFIX}${evaluate}`,
    'Simulated users who like b three times more than a; watch the line below move traffic to b:',
    `${COMMAND_PREFIX}npx infermesh simulate --gateway ${plan.gatewayUrl} --model ${DEMO_MODEL} --rates a=0.05,b=0.15`,
    `Admin token for PUT /v1/experiments/${DEMO_MODEL} and the dashboard's actions (kill switch, weights): ${adminToken}`,
    'Ctrl-C stops the mesh (requests in flight finish first).',
    '',
  ].join('\n');
}
