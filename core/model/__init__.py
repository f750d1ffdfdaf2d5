"""The model: bundles on disk, which one to use, ONNX Runtime sessions, preprocessing, the
tokenizer, the encoder that turns frames and sentences into vectors, and installing real weights.

Data flow: ``registry`` finds a bundle → ``bundle`` reads and checks it → ``sessions`` opens its
ONNX files on the best provider → ``encoder`` runs them (``preprocess`` and ``tokenizer`` shape
the inputs). ``install`` downloads and converts real weights into a bundle.
"""
