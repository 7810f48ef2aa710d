import { status as grpcStatus, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { CallCancellation, InfermeshError, toGrpcError, type GRPCInferenceServiceHandlers, type Logger } from '@infermesh/shared';
import type { DynamicBatcher } from '../batching/dynamic-batcher.js';
import type { LoadedModel } from '../runtime/loaded-model.js';
import type { ModelSlot } from '../reload/model-slot.js';
import type { WorkerMetrics } from '../metrics/worker-metrics.js';
import { decodeInferRequest } from './decode-infer-request.js';
import { encodeInferResponse } from './encode-infer-response.js';

/** Server name reported by ServerMetadata. */
export const SERVER_NAME = 'infermesh-worker';

/** What the inference service needs from the rest of the worker. */
export interface InferenceServiceDependencies {
  /** The model serving now; ModelInfer leases it so a swap waits for the call. */
  models: Pick<ModelSlot, 'acquire' | 'current'>;
  /** Runs ModelInfer calls on their model, batching concurrent ones. */
  batcher: Pick<DynamicBatcher, 'infer'>;
  metrics: WorkerMetrics;
  logger: Logger;
  serverVersion: string;
}

function checkModel(model: LoadedModel | undefined, name: string, version: string): LoadedModel {
  if (model === undefined) throw new InfermeshError('MODEL_NOT_READY', 'no model is loaded yet; retry when health is SERVING', { retriable: true });
  if (name !== model.name) {
    throw new InfermeshError('MODEL_NOT_FOUND', `model '${name}' is not served here; this worker serves '${model.name}'`, {
      details: { model: name, served: model.name },
    });
  }
  if (version !== '' && version !== model.version) {
    throw new InfermeshError('VERSION_NOT_FOUND', `version '${version}' of model '${name}' is not served here; this worker serves version '${model.version}'`, {
      details: { model: name, version, served: model.version },
    });
  }
  return model;
}

/**
 * Withdraws the call from the batcher when the client cancels it or its deadline passes (grpc-js
 * reports both as 'cancelled', and also once after every response: hence the listener is removed
 * as soon as the call has its outputs).
 */
function watchCancellation(call: ServerUnaryCall<unknown, unknown>): { cancellation: CallCancellation; stop: () => void } {
  const cancellation = new CallCancellation();
  const cancel = () => {
    const deadline = call.getDeadline();
    const expired = deadline !== Infinity && new Date(deadline).getTime() <= Date.now();
    cancellation.cancel(
      new InfermeshError('DEADLINE_EXCEEDED', expired ? 'the deadline passed while the call waited for the model' : 'the client cancelled the call while it waited for the model', {
        retriable: true,
      }),
    );
  };
  if (call.cancelled) cancel();
  else call.once('cancelled', cancel);
  return { cancellation, stop: () => call.removeListener('cancelled', cancel) };
}

/** Handlers of inference.GRPCInferenceService (Open Inference Protocol v2). */
export function createInferenceService(dependencies: InferenceServiceDependencies): GRPCInferenceServiceHandlers {
  const { metrics, logger } = dependencies;

  /** Wraps a unary handler: typed errors become gRPC statuses, every call is counted. */
  function unary<Request, Response>(method: string, handle: (request: Request, call: ServerUnaryCall<Request, Response>) => Response | Promise<Response>) {
    return (call: ServerUnaryCall<Request, Response>, callback: sendUnaryData<Response>) => {
      Promise.resolve()
        .then(() => handle(call.request, call))
        .then(
          (response) => {
            metrics.requests.inc({ method, code: 'OK' });
            callback(null, response);
          },
          (error: unknown) => {
            const grpcError = toGrpcError(error);
            metrics.requests.inc({ method, code: grpcStatus[grpcError.code] });
            if (grpcError.code === grpcStatus.INTERNAL) logger.error({ err: error, method }, 'call failed');
            else logger.debug({ method, code: grpcStatus[grpcError.code], reason: grpcError.details }, 'call rejected');
            callback(grpcError);
          },
        );
    };
  }

  return {
    ServerLive: unary('ServerLive', () => ({ live: true })),
    ServerReady: unary('ServerReady', () => ({ ready: dependencies.models.current() !== undefined })),
    ModelReady: unary('ModelReady', (request: { name: string; version: string }) => {
      const model = dependencies.models.current();
      return { ready: model !== undefined && model.name === request.name && (request.version === '' || request.version === model.version) };
    }),
    ServerMetadata: unary('ServerMetadata', () => ({ name: SERVER_NAME, version: dependencies.serverVersion, extensions: [] })),
    ModelMetadata: unary('ModelMetadata', (request: { name: string; version: string }) => {
      const model = checkModel(dependencies.models.current(), request.name, request.version);
      return {
        name: model.name,
        versions: [model.version],
        platform: model.runtime.platform,
        inputs: model.runtime.inputs.map((spec) => ({ ...spec })),
        outputs: model.runtime.outputs.map((spec) => ({ ...spec })),
      };
    }),
    ModelInfer: unary('ModelInfer', async (request: Parameters<typeof decodeInferRequest>[0], call: ServerUnaryCall<unknown, unknown>) => {
      const lease = dependencies.models.acquire();
      try {
        const model = checkModel(lease?.model, request.modelName, request.modelVersion);
        const decoded = decodeInferRequest(request, model.runtime);
        const stopTimer = metrics.inferenceDuration.startTimer({ model: model.name, version: model.version });
        metrics.inflight.inc();
        try {
          // The batch runs on the model this call's lease holds: a swap never mixes versions in one batch.
          const watch = watchCancellation(call);
          const outputs = await dependencies.batcher
            .infer(model, { inputs: decoded.inputs, outputNames: decoded.outputNames, cancellation: watch.cancellation })
            .catch((error: unknown) => {
              throw error instanceof InfermeshError
                ? error
                : new InfermeshError('INFERENCE_FAILED', `model '${model.name}' version '${model.version}' failed: ${(error as Error).message}`, { cause: error });
            })
            .finally(watch.stop);
          // The version reported is the one that computed the outputs, whatever was swapped in meanwhile.
          return encodeInferResponse({ modelName: model.name, modelVersion: model.version, requestId: request.id }, outputs, decoded.rawOutput);
        } finally {
          metrics.inflight.dec();
          stopTimer();
        }
      } finally {
        lease?.release();
      }
    }),
  } as GRPCInferenceServiceHandlers;
}
