"""Monitoring: is the data a model sees now still like the data it was trained on?

``modelyard.monitoring.drift`` compares a reference window with a current one, column by
column, and says which columns drifted:

- ``detect_drift(reference, current)`` returns a ``DriftReport`` of one ``ColumnDrift`` per
  column, the share of drifted columns, and whether the dataset as a whole drifted.
- ``prediction_drift(reference_scores, current_scores, kind)`` does the same for a model's
  outputs.

The statistics live in their own modules: ``numeric`` (KS, normalised Wasserstein, the sorted
merge they share), ``ks`` (the KS p-value, as SciPy computes it), ``categorical`` (chi-square,
Z-test, Jensen-Shannon, PSI on counts) and ``methods`` (names, thresholds, and the default
choice per column, which follows Evidently's). Importing this package imports nothing heavy.
"""
