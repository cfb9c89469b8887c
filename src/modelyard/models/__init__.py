"""Models: the estimator catalog and ONNX export.

- ``modelyard.models.catalog``: build an estimator from a catalog name or a dotted path.
- ``modelyard.models.onnx``: export a fitted pipeline to ONNX, check its parity, and run it.

This is the lowest modelling layer: it imports nothing from ``modelyard.features``.
"""
