"""Tests of export: the PyTorch model, training, ONNX conversion and parity."""
