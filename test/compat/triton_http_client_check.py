"""Calls an infermesh gateway with Triton's own HTTP client, default settings, and prints what it observed as JSON.

Independent of infermesh's code: it only knows the Open Inference Protocol REST binding and
Triton's binary tensor data extension as tritonclient.http ships them. By default that client
sends no Content-Type, puts numpy inputs in binary after the JSON header and, when no outputs
are named, asks for every output in binary (parameters.binary_data_output).
Usage: triton_http_client_check.py GATEWAY_HOST:PORT
"""
import json
import sys

import numpy as np
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

FEATURES = np.array([[0.5, 1.0, 2.0, 0.1], [1, 1, 1, 1]], dtype=np.float32)


def output_form(result, name):
    """'binary' when the output came after the JSON header, 'json' when it came as data."""
    output = result.get_output(name)
    if "binary_data_size" in (output.get("parameters") or {}):
        return "binary" if "data" not in output else "both"
    return "json" if "data" in output else "none"


def features_input(binary_data=True):
    features = httpclient.InferInput("features", [2, 4], "FP32")
    features.set_data_from_numpy(FEATURES, binary_data=binary_data)
    return features


def ints_inputs(binary_data):
    """counts, ids, flags, labels; binary_data is one flag per input."""
    inputs = [
        httpclient.InferInput("counts", [2, 2], "INT32"),
        httpclient.InferInput("ids", [2], "INT64"),
        httpclient.InferInput("flags", [2], "BOOL"),
        httpclient.InferInput("labels", [2], "BYTES"),
    ]
    inputs[0].set_data_from_numpy(np.array([[1, 2], [3, 4]], dtype=np.int32), binary_data=binary_data[0])
    inputs[1].set_data_from_numpy(np.array([2**60, -3], dtype=np.int64), binary_data=binary_data[1])
    inputs[2].set_data_from_numpy(np.array([True, False], dtype=np.bool_), binary_data=binary_data[2])
    inputs[3].set_data_from_numpy(np.array([b"caf\xc3\xa9", b""], dtype=np.object_), binary_data=binary_data[3])
    return inputs


def ints_observed(result):
    labels = result.as_numpy("labels_echo").tolist()
    return {
        "counts_plus_one": result.as_numpy("counts_plus_one").tolist(),
        "ids_times_two": [str(value) for value in result.as_numpy("ids_times_two").tolist()],
        "flags_negated": result.as_numpy("flags_negated").tolist(),
        # Binary BYTES come back as bytes, JSON BYTES as str.
        "labels_echo": [value.decode("utf-8") if isinstance(value, bytes) else value for value in labels],
        "forms": {name: output_form(result, name) for name in ("counts_plus_one", "ids_times_two", "flags_negated", "labels_echo") if result.get_output(name) is not None},
    }


def main(address: str) -> None:
    observed = {}
    client = httpclient.InferenceServerClient(url=address)
    observed["live"] = client.is_server_live()
    observed["ready"] = client.is_server_ready()
    observed["model_ready"] = client.is_model_ready("churn")
    observed["server_metadata"] = client.get_server_metadata()
    observed["metadata"] = client.get_model_metadata("churn")

    # Default settings: binary input, no outputs named, so every output comes back binary.
    result = client.infer("churn", [features_input()], request_id="http-1")
    observed["default"] = {
        "probability": result.as_numpy("probability").tolist(),
        "response": result.get_response(),
        "form": output_form(result, "probability"),
    }

    # JSON both ways.
    result = client.infer("churn", [features_input(binary_data=False)], outputs=[httpclient.InferRequestedOutput("probability", binary_data=False)])
    observed["json"] = {"probability": result.as_numpy("probability").tolist(), "form": output_form(result, "probability")}

    # Compressed requests (and a compressed answer asked for: the gateway may answer uncompressed).
    observed["compressed"] = {}
    for algorithm in ("gzip", "deflate"):
        result = client.infer("churn", [features_input()], request_compression_algorithm=algorithm, response_compression_algorithm="gzip")
        observed["compressed"][algorithm] = result.as_numpy("probability").tolist()

    wrong = httpclient.InferInput("features", [1, 3], "FP32")
    wrong.set_data_from_numpy(np.array([[1, 2, 3]], dtype=np.float32))
    try:
        client.infer("churn", [wrong])
        observed["wrong_shape_error"] = None
    except InferenceServerException as error:
        observed["wrong_shape_error"] = {"status": error.status(), "message": error.message()}

    # The integers model through the gateway: every input binary, every output binary.
    observed["ints_default"] = ints_observed(client.infer("ints", ints_inputs([True, True, True, True])))
    # Mixed: some inputs binary, some JSON; some outputs binary, some JSON.
    mixed_outputs = [
        httpclient.InferRequestedOutput("counts_plus_one", binary_data=True),
        httpclient.InferRequestedOutput("ids_times_two", binary_data=True),
        httpclient.InferRequestedOutput("flags_negated", binary_data=False),
        httpclient.InferRequestedOutput("labels_echo", binary_data=False),
    ]
    observed["ints_mixed"] = ints_observed(client.infer("ints", ints_inputs([True, True, False, False]), outputs=mixed_outputs))
    print(json.dumps(observed))


if __name__ == "__main__":
    main(sys.argv[1])
