"""ONNX Runtime inference on the request path: tokeniser, encoder session, micro-batching, heads."""
