"""Batch scoring: a registered model version applied to Parquet or CSV files, chunk by chunk.

- ``ref``: read ``NAME@ALIAS`` / ``NAME/VERSION`` and resolve it to a version number;
- ``inputs``: find the input files and stream them in chunks of a fixed number of rows;
- ``model``: load a downloaded (verified) version and score Arrow tables with it, through ONNX
  when the version has an export, else through its scikit-learn pipeline;
- ``partitions``: the output folder: one Parquet partition per chunk, each written to a temp
  file and renamed, a ``_RUN.json`` started marker and a ``_SUCCESS.json`` manifest;
- ``batch``: ``predict_batch``, which ties them together and resumes an interrupted run.
"""
