"""Project templates: the bundled examples, and (later) `modelyard init`'s standard layout."""
