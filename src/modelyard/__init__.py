"""modelyard: the machine-learning lifecycle in one tool.

Importing this package is cheap: pandas, scikit-learn, MLflow and FastAPI are imported only
by the functions that need them.
"""

from modelyard.errors import ModelyardError

__version__ = "0.1.0"

__all__ = ["ModelyardError", "__version__"]
