"""A small synthetic churn dataset, so a project made without data trains on day one.

Each row is a customer: an ID, a signup date, a plan (one of them rare), a region, tenure,
monthly charges (some missing), support calls and paperless billing. Whether the customer
``churned`` follows a logistic model of those, so a model has something real to learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

TARGET = "churned"
ROWS = 4000
SEED = 42
PLANS = {"basic": (0.50, 35.0), "standard": (0.30, 65.0), "premium": (0.195, 95.0)}
RARE_PLAN = ("legacy", 0.005, 50.0)
MISSING_CHARGES = 0.03


def build_customers(rows: int = ROWS, *, seed: int = SEED) -> pd.DataFrame:
    """Return ``rows`` seeded customers, sorted by signup date, with the ``churned`` target."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    names = [*PLANS, RARE_PLAN[0]]
    shares = [share for share, _ in PLANS.values()] + [RARE_PLAN[1]]
    prices = {name: price for name, (_, price) in PLANS.items()} | {RARE_PLAN[0]: RARE_PLAN[2]}
    plan = rng.choice(names, size=rows, p=shares)
    tenure = rng.integers(0, 73, size=rows)
    calls = rng.poisson(1.5, size=rows)
    paperless = rng.random(rows) < 0.6
    charges = np.round(np.array([prices[p] for p in plan]) + rng.normal(0, 8, rows), 2)
    logit = (
        -0.6
        + 0.9 * (plan == "basic")
        - 0.045 * tenure
        + 0.5 * calls
        + 0.012 * (charges - 60)
        + 0.4 * paperless
    )
    churned = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype("int64")
    charges[rng.random(rows) < MISSING_CHARGES] = np.nan
    signup = pd.Timestamp("2022-01-01") + pd.to_timedelta(rng.integers(0, 730, rows), unit="D")
    frame = pd.DataFrame(
        {
            "customer_id": [f"C{number:06d}" for number in range(1, rows + 1)],
            "signup_date": signup.astype("datetime64[us]"),
            "plan": plan,
            "region": rng.choice(["north", "south", "east", "west"], size=rows),
            "tenure_months": tenure.astype("int64"),
            "monthly_charges": charges,
            "support_calls": calls.astype("int64"),
            "paperless_billing": paperless,
            TARGET: churned,
        }
    )
    return frame.sort_values(["signup_date", "customer_id"], kind="stable").reset_index(drop=True)
