import type { Command } from './commands/command.js';

/** What the CLI lists without loading a command: its name, its one-line summary, and how to load the rest. */
export interface CommandEntry {
  name: string;
  summary: string;
  /** Imports the command's module: only the command that runs pays for what it uses (a worker does not compile the gateway's schemas). */
  load(): Promise<Command>;
}

/** Every command, in the order the usage lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  { name: 'up', summary: 'run a whole mesh locally: gateway, two worker variants, a Thompson experiment, events', load: async () => (await import('./commands/up-command.js')).upCommand },
  { name: 'gateway', summary: 'serve predictions over HTTP (v1 predict and Open Inference Protocol v2 REST)', load: async () => (await import('./commands/gateway-command.js')).gatewayCommand },
  { name: 'worker', summary: 'serve one model artifact over gRPC (Open Inference Protocol v2)', load: async () => (await import('./commands/worker-command.js')).workerCommand },
  { name: 'aggregate', summary: 'count trials and rewards from Kafka and publish each experiment\'s record to Consul', load: async () => (await import('./commands/aggregate-command.js')).aggregateCommand },
  { name: 'models', summary: 'publish, promote, roll back and inspect model versions in the registry', load: async () => (await import('./commands/models-command.js')).modelsCommand },
  { name: 'experiments', summary: 'conclude an experiment now, or reopen a concluded one (through the gateway)', load: async () => (await import('./commands/experiments-command.js')).experimentsCommand },
  { name: 'events', summary: 'follow business events (predictions, feedback, reloads) from Kafka or the event files', load: async () => (await import('./commands/events-command.js')).eventsCommand },
  { name: 'evaluate', summary: 'estimate what another routing policy would have earned, from the logged propensities', load: async () => (await import('./commands/evaluate-command.js')).evaluateCommand },
  { name: 'simulate', summary: 'send simulated users with feedback to a model, to watch an experiment learn', load: async () => (await import('./commands/simulate-command.js')).simulateCommand },
  { name: 'infer', summary: 'call a worker: JSON inputs in, JSON outputs out', load: async () => (await import('./commands/infer-command.js')).inferCommand },
];
