"""Monitoring: is the data a model sees now still like the data it was trained on?

``modelyard.monitoring.drift`` compares a reference window with a current one, column by
column, and says which columns drifted:

- ``detect_drift(reference, current)`` returns a ``DriftReport`` of one ``ColumnDrift`` per
  column, the share of drifted columns, and whether the dataset as a whole drifted.
- ``prediction_drift(reference_scores, current_scores, kind)`` does the same for a model's
  outputs.

Around them:

- ``quality``: task metrics once labels arrive, over time windows, against the model card;
- ``histograms``: reference-vs-current distributions of each column, for the report;
- ``result``: what one look found, typed: ``MonitorResult`` with its ``Verdict`` (``Breach``
  flags and reasons), the drift and quality reports, and the actions taken; ``to_dict()`` is
  the JSON report;
- ``html``: the self-contained HTML report; ``gauges``: the results as Prometheus gauges;
- ``alerts``: the result as a Slack-compatible message, sent through ``modelyard.net``.

``modelyard.pipelines.monitor`` puts them together: reference from the version, current from
the prediction log, verdict, report, alerts and retraining.

The statistics live in their own modules: ``numeric`` (KS, normalised Wasserstein, the sorted
merge they share), ``ks`` (the KS p-value, as SciPy computes it), ``categorical`` (chi-square,
Z-test, Jensen-Shannon, PSI on counts) and ``methods`` (names, thresholds, and the default
choice per column, which follows Evidently's). Importing this package imports nothing heavy.
"""
