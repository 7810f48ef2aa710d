import { buildOnnxModel } from './build-onnx-model.js';

/** Input features of the demo model, in tensor order: a churn score from customer behaviour. */
export const DEMO_FEATURES = ['recency', 'frequency', 'monetary', 'tenure'] as const;

/** Weights and bias of one demo model version: p = sigmoid(x · weights + bias). */
export interface DemoWeights {
  weights: readonly number[];
  bias: number;
}

/** The two versions `infermesh up` serves as variants a and b (their answers differ, so the difference shows). */
export const DEMO_VERSIONS: Readonly<Record<'v1' | 'v2', DemoWeights>> = {
  v1: { weights: [0.8, -1.2, 0.35, 2.0], bias: -0.5 },
  v2: { weights: [1.1, -0.9, 0.5, 1.6], bias: -0.3 },
};

/** FP32 [-1,4] `features` → FP32 [-1,1] `probability`: a logistic regression as ONNX bytes. */
export function logisticRegressionModel({ weights, bias }: DemoWeights): Buffer {
  return buildOnnxModel({
    name: 'logistic_regression',
    inputs: [{ name: 'features', type: 'FLOAT', shape: ['batch', weights.length] }],
    outputs: [{ name: 'probability', type: 'FLOAT', shape: ['batch', 1] }],
    initializers: [
      { name: 'W', type: 'FLOAT', dims: [weights.length, 1], values: [...weights] },
      { name: 'b', type: 'FLOAT', dims: [1], values: [bias] },
    ],
    nodes: [
      { op: 'MatMul', inputs: ['features', 'W'], outputs: ['logit_raw'] },
      { op: 'Add', inputs: ['logit_raw', 'b'], outputs: ['logit'] },
      { op: 'Sigmoid', inputs: ['logit'], outputs: ['probability'] },
    ],
  });
}
