"""The data dictionary: one row per column, with its role and rule."""

from __future__ import annotations

from modelyard.scaffold.dictionary import DictionaryContext, render_dictionary
from modelyard.scaffold.inference import ColumnProfile

CONTEXT = DictionaryContext(
    title="t", source="data/raw/t.parquet", contract="configs/data_contract.yaml", rows=200,
    min_rows=20, task="binary_classification", split="time", timestamp="day",
)  # fmt: skip


def test_rows_show_role_rule_and_missing_share() -> None:
    text = render_dictionary(
        CONTEXT,
        [
            ColumnProfile("id", "id", "int", unique=True, distinct=200),
            ColumnProfile("amount", "numeric", "float", nullable=True, min=0, max=1.5, missing=10),
            ColumnProfile("kind", "categorical", "string", allowed=("a|b", "c")),
            ColumnProfile("y", "target", "int", allowed=(0, 1)),
        ],
    )
    assert "| `id` | ID | int | no | unique | 0 | 200 |" in text
    assert "| `amount` | numeric feature | float | yes | 0 to 1.5 | 5.0% |" in text
    assert "one of: a\\|b, c" in text
    assert "- **Target:** `y` (binary classification)" in text
    assert "by time on `day`" in text
    assert "at least 20" in text


def test_long_allowed_lists_are_cut() -> None:
    values = tuple(f"v{i}" for i in range(30))
    text = render_dictionary(CONTEXT, [ColumnProfile("c", "categorical", "string", allowed=values)])
    assert "(+18 more)" in text
