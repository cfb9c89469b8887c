"""Evaluation: metrics, per-slice metrics, plots, promotion gates and the model card.

Modules, each imported on its own (this package imports nothing, so it stays cheap):

- ``metrics``: ``compute_metrics`` per task, and which direction is better for each metric.
- ``slices``: metrics per distinct value of chosen columns, small slices skipped.
- ``plots``: ROC, PR, calibration, confusion, residual and importance PNGs.
- ``gates``: absolute thresholds and the champion/challenger comparison.
- ``card``: the model card, as Markdown and as a self-contained HTML page.
"""
