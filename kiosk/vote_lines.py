"""What the room display's controller hands its voting panels: plain values, no Qt.

The controller decides every text and what it means to the room (:class:`Tone`); the panels
(:mod:`kiosk.vote_view`) only place and paint them."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from room_client.timers import Level


class Tone(StrEnum):
    """What a result or a state means to the room: the colour it is shown in."""

    GOOD = "good"  # adopted, elected, quorum met, voting open
    BAD = "bad"  # rejected, no quorum
    NOTICE = "notice"  # a tie, no decision, counting
    PLAIN = "plain"  # an option that is neither
    QUIET = "quiet"  # abstentions


@dataclass(frozen=True, slots=True)
class Bar:
    """One option of a result: its label, its votes as text and its bar's length."""

    label: str
    value: str  # "60 · 53.1%"
    fraction: float  # of a full-length bar, 0 to 1
    tone: Tone
    strong: bool = False  # a winner: bold, with a tick


@dataclass(frozen=True, slots=True)
class NameGroup:
    """The names of those who voted one way (a roll call)."""

    title: str  # "Yes · 12"
    tone: Tone
    names: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class VoteLines:
    """An open poll, or a closed one being counted."""

    title: str
    kinds: str  # "Secret ballot" ...
    status: str  # "Voting open"
    status_tone: Tone
    progress: str  # "38 of 120 have voted"
    fraction: float  # of the progress bar, 0 to 1
    context: str = ""  # the agenda item: "4 · Budget"
    countdown: str = ""  # "0:45" while a closing countdown runs
    caption: str = ""
    level: Level = Level.NORMAL


@dataclass(frozen=True, slots=True)
class ResultLines:
    """A published result."""

    title: str
    kinds: str
    outcome: str  # "Adopted"
    tone: Tone
    detail: str  # "Elected: …", "decided by lot"
    bars: tuple[Bar, ...]
    marker: float | None  # where the required majority is, as a fraction of a bar
    marker_text: str
    more: str  # "and 3 more options"
    totals: str
    context: str = ""  # the agenda item: "4 · Budget"
