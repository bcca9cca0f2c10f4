"""Read models ("projections"): the runner, rebuild, deadlines and the rm_ tables they keep.

    runner = ProjectionRunner(pool, store, all_projections())   # ledger.projections.runner
    await runner.start(); ...; await runner.stop()
    await rebuild(pool, ["cases"])                               # ledger.projections.rebuild
    lags = await positions.lags(pool, NAMES)                     # positions behind, seconds
"""

from ledger.projections.positions import Lag, Position, PositionMoved, as_of_position, lags
from ledger.projections.registry import NAMES, all_projections, by_name
from ledger.projections.runner import ProjectionRunner

__all__ = [
    "NAMES", "Lag", "Position", "PositionMoved", "ProjectionRunner", "all_projections",
    "as_of_position", "by_name", "lags",
]
