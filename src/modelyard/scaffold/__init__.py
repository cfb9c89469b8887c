"""Project templates: `modelyard init`'s standard layout, and the bundled examples."""
