/** One configuration option: where it comes from and what it means. */
export interface OptionSpec {
  /** Property name in the validated config object. */
  key: string;
  /** Command-line flag without dashes, e.g. `metrics-port`. */
  flag: string;
  /** Environment variable, e.g. `INFERMESH_WORKER_PORT`. */
  env: string;
  type: 'string' | 'integer' | 'boolean';
  /** Allowed values of a string option. */
  values?: readonly string[];
  minimum?: number;
  maximum?: number;
  default?: string | number | boolean;
  required?: boolean;
  /** One line for --help and the README reference table. */
  description: string;
}
