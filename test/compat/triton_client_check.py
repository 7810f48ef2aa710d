"""Calls an infermesh worker with Triton's own gRPC client and prints what it observed as JSON.

Independent of infermesh's code: it only knows the Open Inference Protocol as Triton ships it.
Usage: triton_client_check.py LOGISTIC_ADDRESS INTEGERS_ADDRESS
"""
import json
import sys

import numpy as np
import tritonclient.grpc as grpcclient
from tritonclient.utils import InferenceServerException


def main(logistic_address: str, integers_address: str) -> None:
    observed = {}
    client = grpcclient.InferenceServerClient(url=logistic_address)
    observed["live"] = client.is_server_live()
    observed["ready"] = client.is_server_ready()
    observed["model_ready"] = client.is_model_ready("churn")
    observed["metadata"] = client.get_model_metadata("churn", as_json=True)

    features = grpcclient.InferInput("features", [2, 4], "FP32")
    features.set_data_from_numpy(np.array([[0.5, 1.0, 2.0, 0.1], [1, 1, 1, 1]], dtype=np.float32))
    result = client.infer("churn", [features], request_id="triton-1")
    observed["probability"] = result.as_numpy("probability").tolist()
    observed["response"] = result.get_response(as_json=True)

    wrong = grpcclient.InferInput("features", [1, 3], "FP32")
    wrong.set_data_from_numpy(np.array([[1, 2, 3]], dtype=np.float32))
    try:
        client.infer("churn", [wrong])
        observed["wrong_shape_error"] = None
    except InferenceServerException as error:
        observed["wrong_shape_error"] = {"status": error.status(), "message": error.message()}

    ints = grpcclient.InferenceServerClient(url=integers_address)
    inputs = [
        grpcclient.InferInput("counts", [2, 2], "INT32"),
        grpcclient.InferInput("ids", [2], "INT64"),
        grpcclient.InferInput("flags", [2], "BOOL"),
        grpcclient.InferInput("labels", [2], "BYTES"),
    ]
    inputs[0].set_data_from_numpy(np.array([[1, 2], [3, 4]], dtype=np.int32))
    inputs[1].set_data_from_numpy(np.array([2**60, -3], dtype=np.int64))
    inputs[2].set_data_from_numpy(np.array([True, False], dtype=np.bool_))
    inputs[3].set_data_from_numpy(np.array([b"caf\xc3\xa9", b""], dtype=np.object_))
    outputs = [grpcclient.InferRequestedOutput(name) for name in ("counts_plus_one", "ids_times_two", "flags_negated", "labels_echo")]
    result = ints.infer("ints", inputs, outputs=outputs)
    observed["ints"] = {
        "counts_plus_one": result.as_numpy("counts_plus_one").tolist(),
        "ids_times_two": [str(value) for value in result.as_numpy("ids_times_two").tolist()],
        "flags_negated": result.as_numpy("flags_negated").tolist(),
        "labels_echo": [value.decode("utf-8") for value in result.as_numpy("labels_echo").tolist()],
    }
    print(json.dumps(observed))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
