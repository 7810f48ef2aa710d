// Schema-checked JSON documents alone, importable without loading gRPC, Consul or Kafka
// clients: the experiments package parses experiment configs and records with it.
export { parseValidatedJson, checkValidatedJson } from './parse-validated-json.js';
