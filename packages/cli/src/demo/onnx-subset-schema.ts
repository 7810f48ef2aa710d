/**
 * The part of the ONNX model schema (onnx/onnx.proto3) a small model needs, with the published
 * field numbers, as a protobufjs JSON descriptor: kept in code so no .proto file has to travel
 * with the built CLI. Not the npm package onnx-proto: unchanged since 2022 (ONNX 1.10), it
 * brings a protobufjs 6 of its own beside ours, and it is CommonJS whose typings promise a
 * named `onnx` export that Node's ESM loader does not find.
 */
export const ONNX_SUBSET_SCHEMA = {
  nested: {
    onnx: {
      nested: {
        AttributeProto: {
          fields: {
            name: {
              type: 'string',
              id: 1
            },
            f: {
              type: 'float',
              id: 2
            },
            i: {
              type: 'int64',
              id: 3
            },
            s: {
              type: 'bytes',
              id: 4
            },
            t: {
              type: 'TensorProto',
              id: 5
            },
            floats: {
              rule: 'repeated',
              type: 'float',
              id: 7
            },
            ints: {
              rule: 'repeated',
              type: 'int64',
              id: 8
            },
            type: {
              type: 'AttributeType',
              id: 20
            }
          },
          nested: {
            AttributeType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                INT: 2,
                STRING: 3,
                TENSOR: 4,
                GRAPH: 5,
                FLOATS: 6,
                INTS: 7,
                STRINGS: 8
              }
            }
          }
        },
        ValueInfoProto: {
          fields: {
            name: {
              type: 'string',
              id: 1
            },
            type: {
              type: 'TypeProto',
              id: 2
            },
            docString: {
              type: 'string',
              id: 3,
              protoName: 'doc_string'
            }
          }
        },
        NodeProto: {
          fields: {
            input: {
              rule: 'repeated',
              type: 'string',
              id: 1
            },
            output: {
              rule: 'repeated',
              type: 'string',
              id: 2
            },
            name: {
              type: 'string',
              id: 3
            },
            opType: {
              type: 'string',
              id: 4,
              protoName: 'op_type'
            },
            attribute: {
              rule: 'repeated',
              type: 'AttributeProto',
              id: 5
            },
            domain: {
              type: 'string',
              id: 7
            }
          }
        },
        ModelProto: {
          fields: {
            irVersion: {
              type: 'int64',
              id: 1,
              protoName: 'ir_version'
            },
            producerName: {
              type: 'string',
              id: 2,
              protoName: 'producer_name'
            },
            producerVersion: {
              type: 'string',
              id: 3,
              protoName: 'producer_version'
            },
            domain: {
              type: 'string',
              id: 4
            },
            modelVersion: {
              type: 'int64',
              id: 5,
              protoName: 'model_version'
            },
            docString: {
              type: 'string',
              id: 6,
              protoName: 'doc_string'
            },
            graph: {
              type: 'GraphProto',
              id: 7
            },
            opsetImport: {
              rule: 'repeated',
              type: 'OperatorSetIdProto',
              id: 8,
              protoName: 'opset_import'
            },
            metadataProps: {
              rule: 'repeated',
              type: 'StringStringEntryProto',
              id: 14,
              protoName: 'metadata_props'
            }
          }
        },
        StringStringEntryProto: {
          fields: {
            key: {
              type: 'string',
              id: 1
            },
            value: {
              type: 'string',
              id: 2
            }
          }
        },
        GraphProto: {
          fields: {
            node: {
              rule: 'repeated',
              type: 'NodeProto',
              id: 1
            },
            name: {
              type: 'string',
              id: 2
            },
            initializer: {
              rule: 'repeated',
              type: 'TensorProto',
              id: 5
            },
            docString: {
              type: 'string',
              id: 10,
              protoName: 'doc_string'
            },
            input: {
              rule: 'repeated',
              type: 'ValueInfoProto',
              id: 11
            },
            output: {
              rule: 'repeated',
              type: 'ValueInfoProto',
              id: 12
            }
          }
        },
        TensorProto: {
          fields: {
            dims: {
              rule: 'repeated',
              type: 'int64',
              id: 1
            },
            dataType: {
              type: 'int32',
              id: 2,
              protoName: 'data_type'
            },
            name: {
              type: 'string',
              id: 8
            },
            rawData: {
              type: 'bytes',
              id: 9,
              protoName: 'raw_data'
            }
          },
          nested: {
            DataType: {
              values: {
                UNDEFINED: 0,
                FLOAT: 1,
                UINT8: 2,
                INT8: 3,
                UINT16: 4,
                INT16: 5,
                INT32: 6,
                INT64: 7,
                STRING: 8,
                BOOL: 9,
                FLOAT16: 10,
                DOUBLE: 11,
                UINT32: 12,
                UINT64: 13
              }
            }
          }
        },
        TensorShapeProto: {
          fields: {
            dim: {
              rule: 'repeated',
              type: 'Dimension',
              id: 1
            }
          },
          nested: {
            Dimension: {
              oneofs: {
                value: {
                  oneof: [
                    'dimValue',
                    'dimParam'
                  ]
                }
              },
              fields: {
                dimValue: {
                  type: 'int64',
                  id: 1,
                  protoName: 'dim_value'
                },
                dimParam: {
                  type: 'string',
                  id: 2,
                  protoName: 'dim_param'
                }
              }
            }
          }
        },
        TypeProto: {
          oneofs: {
            value: {
              oneof: [
                'tensorType'
              ]
            }
          },
          fields: {
            tensorType: {
              type: 'Tensor',
              id: 1,
              protoName: 'tensor_type'
            }
          },
          nested: {
            Tensor: {
              fields: {
                elemType: {
                  type: 'int32',
                  id: 1,
                  protoName: 'elem_type'
                },
                shape: {
                  type: 'TensorShapeProto',
                  id: 2
                }
              }
            }
          }
        },
        OperatorSetIdProto: {
          fields: {
            domain: {
              type: 'string',
              id: 1
            },
            version: {
              type: 'int64',
              id: 2
            }
          }
        }
      }
    }
  }
};
