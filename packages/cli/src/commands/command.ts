/** A CLI subcommand, once loaded: `run` returns the process exit code. */
export interface Command {
  help(): string;
  run(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number>;
}

/** Exit code of a command that failed because of its input or configuration. */
export const EXIT_USAGE = 2;
/** Exit code of a command that failed while running. */
export const EXIT_FAILURE = 1;
