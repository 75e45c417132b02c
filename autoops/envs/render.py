"""What ``BuildPipelineEnv.render`` shows: one line of text, or a small picture drawn with numpy.

The picture is a 4 x 7 grid of 16-pixel cells (64 x 112 pixels, multiples of 16 so video
encoders take it as it is):

    row 0   the five state factors (amber when on), a gap, the last outcome's colour
    row 1   the five knobs of the last build's configuration (blue when on; all dark before one)
    row 2   the last build's duration, as a bar over the whole width (full = the scenario's longest)
    row 3   the last build's cost, the same way
"""

from __future__ import annotations

import numpy as np

from autoops.envs.categories import OUTCOMES
from autoops.envs.model import KNOBS, STATE_FACTORS, State

CELL = 16
COLUMNS = len(STATE_FACTORS) + 2
FRAME_SHAPE = (4 * CELL, COLUMNS * CELL, 3)

_OFF = (40, 40, 40)
_FACTOR_ON = (255, 190, 0)
_KNOB_ON = (0, 130, 200)
_BAR = (230, 230, 230)
# Success is green; each failure category gets its own colour (Trubetskoy's distinct colours).
_OUTCOME_COLOURS = np.array([
    (60, 180, 75), (230, 25, 75), (245, 130, 48), (255, 225, 25), (240, 50, 230), (145, 30, 180),
    (70, 240, 240), (170, 110, 40), (128, 0, 0), (128, 128, 0), (0, 0, 128),
], np.uint8)
assert len(_OUTCOME_COLOURS) == len(OUTCOMES)


def text_line(scenario_name: str, state_index: int, info: dict) -> str:
    """One line: the state, then the last build's configuration, outcome, minutes and dollars."""
    line = f"[{scenario_name}] {State.from_index(state_index).describe()}"
    if "status" in info:
        line += f" | {info['action_description']}: {info['status']}"
        line += f" {info['failure_category'] or ''} {info['duration_minutes']:.1f} min ${info['cost_usd']:.3f}"
    return line


def rgb_frame(state_index: int, action: int | None, fractions: tuple[float, float]) -> np.ndarray:
    """The picture of a state after building with ``action`` (None before the first build);
    ``fractions`` are the duration and cost as shares of the scenario's largest."""
    image = np.zeros(FRAME_SHAPE, np.uint8)
    state = State.from_index(state_index)

    def cell(row: int, column: int, colour) -> None:  # a 1-pixel border keeps neighbours apart
        image[row * CELL + 1 : (row + 1) * CELL - 1, column * CELL + 1 : (column + 1) * CELL - 1] = colour

    for column, factor in enumerate(STATE_FACTORS):
        cell(0, column, _FACTOR_ON if getattr(state, factor) else _OFF)
    cell(0, COLUMNS - 1, _OUTCOME_COLOURS[state.last_outcome])
    for column in range(len(KNOBS)):
        cell(1, column, _KNOB_ON if action is not None and action >> column & 1 else _OFF)
    for row, fraction in ((2, fractions[0]), (3, fractions[1])):
        width = round(min(max(fraction, 0.0), 1.0) * (FRAME_SHAPE[1] - 2))
        image[row * CELL + 3 : (row + 1) * CELL - 3, 1 : 1 + width] = _BAR
    return image
