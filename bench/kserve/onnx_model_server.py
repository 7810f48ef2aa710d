"""KServe's Python model server serving an ONNX model through onnxruntime: the peer of the
infermesh worker in `npm run bench -- fronts` (issue 12, item 5).

A custom `kserve.Model`, as KServe's documentation shows for models it has no runtime for:
`load()` opens an onnxruntime session, `predict()` runs it on the Open Inference Protocol
request and answers an `InferResponse`. KServe serves it over v2 REST (FastAPI/uvicorn) and
gRPC (`inference.GRPCInferenceService`), the same protocol the infermesh worker speaks.

Run: python onnx_model_server.py --model_name m --model_path model.onnx \
         --http_port 8080 --grpc_port 8081 [any kserve.model_server flag]
"""

import argparse
import logging

import kserve
import numpy as np
import onnxruntime
from kserve import InferOutput, InferRequest, InferResponse


class OnnxModel(kserve.Model):
    """One ONNX model; every input of the request is fed by name, every output returned."""

    def __init__(self, name: str, model_path: str, intra_op_threads: int):
        super().__init__(name)
        self.model_path = model_path
        self.intra_op_threads = intra_op_threads
        self.session = None
        self.output_names = []

    def load(self) -> bool:
        options = onnxruntime.SessionOptions()
        # One thread per call, like the infermesh worker's default --onnx-threads 1: many small
        # concurrent calls gain nothing from intra-op parallelism on two cores.
        options.intra_op_num_threads = self.intra_op_threads
        self.session = onnxruntime.InferenceSession(self.model_path, sess_options=options, providers=["CPUExecutionProvider"])
        self.output_names = [output.name for output in self.session.get_outputs()]
        self.ready = True
        return self.ready

    async def predict(self, payload: InferRequest, headers=None, response_headers=None) -> InferResponse:
        feeds = {tensor.name: tensor.as_numpy() for tensor in payload.inputs}
        results = self.session.run(self.output_names, feeds)
        outputs = []
        for name, value in zip(self.output_names, results):
            output = InferOutput(name=name, shape=list(value.shape), datatype="FP32" if value.dtype == np.float32 else "FP64")
            # binary_data=False: JSON numbers in REST answers, as the REST clients here ask for.
            output.set_data_from_numpy(value, binary_data=False)
            outputs.append(output)
        return InferResponse(response_id=payload.id or "", model_name=self.name, infer_outputs=outputs)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(parents=[kserve.model_server.parser])
    parser.add_argument("--model_path", required=True, help="Path of the .onnx file")
    parser.add_argument("--intra_op_threads", type=int, default=1, help="onnxruntime threads per call")
    parser.add_argument(
        "--quiet_request_logs",
        action="store_true",
        help="No line per request: uvicorn's access log and KServe's per-call gRPC log at WARNING "
        "(with --enable_latency_logging false, KServe then logs nothing per request)",
    )
    args, _ = parser.parse_known_args()
    model = OnnxModel(args.model_name, args.model_path, args.intra_op_threads)
    model.load()
    server = kserve.ModelServer()
    if args.quiet_request_logs:
        # ModelServer() has configured logging by now and uvicorn does not reconfigure it.
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        logging.getLogger("kserve").setLevel(logging.WARNING)
    server.start([model])
