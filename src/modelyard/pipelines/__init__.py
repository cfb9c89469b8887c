"""Pipelines: the lifecycle's steps wired in order, each taking plain arguments."""
