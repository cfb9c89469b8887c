"""Features: which columns a model reads, how they are cast, and how they are encoded.

- ``modelyard.features.transform``: ``FeatureSpec``, frame and record preparation, the ONNX
  input feed, and the preprocessor.
- ``modelyard.features.casting``: the casting rules, for a column or a single value.
- ``modelyard.features.pipeline``: the preprocessor and an estimator in one sklearn Pipeline.
- ``modelyard.features.categories`` and ``modelyard.features.datetimes``: the transformers
  modelyard adds to scikit-learn, each with its ONNX converter.
- ``modelyard.features.bundle``: the names of a registered version's files and their one
  reader, ``read_bundle`` (serving, batch scoring, monitoring and the registry steps use it).
"""
