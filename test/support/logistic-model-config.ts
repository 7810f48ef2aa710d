/** The logistic-regression fixture's inputs as a gateway model config declares them: four numbers. */
const LOGISTIC_INPUTS = { a: { type: 'number' }, b: { type: 'number' }, c: { type: 'number' }, d: { type: 'number' } };

/** Its one input tensor: `features`, FP32 of shape [4], filled from inputs a–d in order. */
const LOGISTIC_TENSORS = { features: { datatype: 'FP32', shape: [4], from: ['inputs.a', 'inputs.b', 'inputs.c', 'inputs.d'] } };

/**
 * A gateway model config (what `models/<name>/config` holds) serving the logistic-regression
 * fixture from `pool`: inputs a–d into its `features` tensor. `extra` adds fields (entityKeys,
 * deadlineMs, events, workerModel, …) or replaces one (inputs with other constraints).
 */
export function logisticModelConfig(pool: object, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { inputs: LOGISTIC_INPUTS, tensors: LOGISTIC_TENSORS, pool, ...extra };
}
