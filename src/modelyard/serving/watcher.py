"""Hot swap: follow an alias, and swap in each new target once it is loaded, verified and warm.

Registry calls and loading run in a worker thread, never on the event loop. A target that
fails to load leaves the current model serving; the failure is logged and counted in
``modelyard_model_loads_total{outcome=...}``. A version refused for its artifacts (integrity
or unsafe format) is not retried until the alias moves elsewhere; other failures are retried
at the next poll.
"""

from __future__ import annotations

import asyncio
import logging

from modelyard.errors import ArtifactIntegrityError, ModelyardError, UnsafeArtifactError
from modelyard.serving.model import ServedModel
from modelyard.serving.source import RegistrySource
from modelyard.serving.state import ServingState

log = logging.getLogger("modelyard.serving")


async def watch_alias(state: ServingState, source: RegistrySource, *, interval_s: float) -> None:
    """Poll ``source`` every ``interval_s`` seconds and swap in new targets, until cancelled.

    With no model loaded yet, the first poll happens at once.
    """
    refused: int | None = None
    if state.model is not None:
        await asyncio.sleep(interval_s)
    while True:
        try:
            target = await asyncio.to_thread(source.target)
        except Exception as error:  # a registry hiccup must not stop the watcher
            log.warning("cannot read %s: %s", source.ref, error)
            target = None
        current = None if state.model is None else state.model.version
        if target is not None and target not in (current, refused):
            model, permanent = await load_version(state, source, target)
            if model is not None:
                state.swap(model)
                refused = None
            elif permanent:
                refused = target
        await asyncio.sleep(interval_s)


async def load_version(
    state: ServingState, source: RegistrySource, version: int
) -> tuple[ServedModel | None, bool]:
    """Load ``version`` in a thread; return (model, False), or (None, whether it is hopeless)."""
    outcome, permanent = "error", False
    try:
        model = await asyncio.to_thread(source.load, version)
    except (ArtifactIntegrityError, UnsafeArtifactError) as error:
        outcome = "integrity_error" if isinstance(error, ArtifactIntegrityError) else "unsafe"
        permanent = True
        log.error(
            "refused version %s of %s, still serving %s: %s",
            version,
            source.ref.name,
            _serving(state),
            error,
        )
    except ModelyardError as error:
        log.error(
            "cannot load version %s of %s, still serving %s: %s",
            version,
            source.ref.name,
            _serving(state),
            error,
        )
    except Exception:
        log.exception(
            "unexpected failure loading version %s of %s, still serving %s",
            version,
            source.ref.name,
            _serving(state),
        )
    else:
        state.metrics.model_loads.labels("loaded").inc()
        return model, False
    state.metrics.model_loads.labels(outcome).inc()
    return None, permanent


def _serving(state: ServingState) -> str:
    return "nothing" if state.model is None else f"version {state.model.version}"
