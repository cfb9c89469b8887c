from __future__ import annotations

import pytest

from modelyard.errors import RegistryError, ServingError
from modelyard.tracking.refs import ModelRef, parse_model_ref


def test_a_version_wins_over_the_default_alias() -> None:
    ref = ModelRef("m", version=3)
    assert ref.alias is None
    assert ref.is_pinned
    assert str(ref) == "m/3"
    assert str(ModelRef("m")) == "m@champion"


@pytest.mark.parametrize("error", [RegistryError, ServingError])
def test_the_caller_chooses_the_error(error: type[RegistryError | ServingError]) -> None:
    with pytest.raises(error, match="Invalid model reference 'a/b@c'"):
        parse_model_ref("a/b@c", error=error)


def test_the_same_text_means_the_same_version_everywhere() -> None:
    assert parse_model_ref("m/2") == parse_model_ref("m/2", default_name="other")
    assert parse_model_ref(" m@staging ") == ModelRef("m", alias="staging")
