export { buildOnnxModel, ONNX_TYPES, type OnnxType, type ValueInfo, type Initializer, type OnnxNode, type ModelDescription } from './build-onnx-model.js';
export { logisticRegressionModel, DEMO_VERSIONS, DEMO_FEATURES, type DemoWeights } from './demo-models.js';
