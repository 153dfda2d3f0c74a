"""The texts of a poll on the room display: how it is held, and a published result with
its bars and roll call, in the display's language. Qt-free: plain values for the panels
(:mod:`kiosk.vote_lines`) from the protocol's poll and result."""

from __future__ import annotations

from kiosk.i18n import tr, trn
from kiosk.vote_lines import Bar, NameGroup, ResultLines, Tone
from kiosk.voting import YES_NO_IDS, chart, percent, roll_call
from room_protocol.messages import MeetingSnapshot
from room_protocol.voting import (
    ABSTAIN,
    NO,
    YES,
    Majority,
    Outcome,
    Poll,
    PollKind,
    PollResult,
)


def poll_kinds(poll: Poll) -> str:
    """How the poll is held, in a line: "Secret ballot · Weighted"."""
    spec = poll.spec
    kinds = [tr("vote.secret") if spec.secret else tr("vote.named")]
    if spec.weighted:
        kinds.append(tr("vote.weighted"))
    if poll.quorum_override:
        kinds.append(tr("vote.without_quorum"))
    return " · ".join(kinds)


def result_lines(
    meeting: MeetingSnapshot, poll: Poll, result: PollResult
) -> tuple[ResultLines, tuple[NameGroup, ...]]:
    """A published result as the display shows it: the outcome, one bar per option, the
    totals, and the names by option for a roll call (empty for a secret ballot)."""
    spec = poll.spec
    figures = chart(spec, result)
    labels = {o.id: o.label for o in spec.options}
    if spec.kind is PollKind.YES_NO:
        labels.update({YES: tr("option.yes"), NO: tr("option.no"), ABSTAIN: tr("option.abstain")})
    bars = []
    for row in figures.rows:
        share = percent(row.votes, result.base)
        if row.abstain or share is None:
            value = str(row.votes)
        else:
            value = tr("result.votes_share", votes=row.votes, share=_decimal(share))
        bars.append(
            Bar(
                labels.get(row.option_id, row.label),
                value,
                row.votes / figures.top,
                _bar_tone(spec.kind, row.option_id, row.winner, row.tied),
                strong=row.winner,
            )
        )
    marker = figures.required / figures.top if figures.required else None
    winners = ", ".join(labels.get(w, w) for w in result.winners)
    tied = ", ".join(labels.get(t, t) for t in result.tied)
    details = []
    if poll.quorum_override:  # as plain as the outcome: the room reads it from afar
        details.append(tr("result.without_quorum", present=result.present, members=result.members))
    if result.outcome is Outcome.DECIDED and winners:
        if spec.kind is PollKind.ELECTION:
            details.append(tr("result.elected", names=winners))
        else:
            details.append(tr("result.chosen", names=winners))
    elif result.outcome is Outcome.TIE and tied:
        details.append(tr("result.tied", names=tied))
    if result.decided_by == "chair":
        details.append(tr("result.by_chair"))
    elif result.decided_by == "lot":
        details.append(tr("result.by_lot"))
    totals = [
        tr("result.ballots", count=result.ballots),
        tr("result.abstentions", count=result.abstentions),
    ]
    if spec.rule.majority is Majority.PLURALITY or not result.required:
        totals.append(tr("result.plurality"))
    else:
        rule = {
            Majority.SIMPLE: tr("majority.simple"),
            Majority.ABSOLUTE: tr("majority.absolute"),
            Majority.TWO_THIRDS: tr("majority.two_thirds"),
            Majority.THREE_QUARTERS: tr("majority.three_quarters"),
        }[spec.rule.majority]
        totals.append(tr("result.required", required=result.required, base=result.base, rule=rule))
    lines = ResultLines(
        title=spec.title,
        kinds=poll_kinds(poll),
        outcome={
            Outcome.ADOPTED: tr("outcome.adopted"),
            Outcome.REJECTED: tr("outcome.rejected"),
            Outcome.DECIDED: tr("outcome.decided"),
            Outcome.NO_DECISION: tr("outcome.no_decision"),
            Outcome.TIE: tr("outcome.tie"),
        }[result.outcome],
        tone=_OUTCOME_TONES[result.outcome],
        detail=" · ".join(details),
        bars=tuple(bars),
        marker=marker,
        marker_text=tr("result.needed", count=figures.required) if marker else "",
        more=trn("result.more", figures.hidden) if figures.hidden else "",
        totals=" · ".join(totals),
    )
    names = {m.delegate_id: m.name for m in meeting.roster}
    groups = roll_call(spec, result, names) or []
    roll = tuple(
        NameGroup(
            tr(
                "roll_call.group",
                option=labels.get(g.option_id, g.option_id),
                count=len(g.names),
            ),
            _bar_tone(spec.kind, g.option_id, g.option_id in result.winners, False),
            tuple(tr("roll_call.by_proxy", name=n.name) if n.by_proxy else n.name for n in g.names),
        )
        for g in groups
    )
    return lines, roll


_OUTCOME_TONES = {
    Outcome.ADOPTED: Tone.GOOD,
    Outcome.REJECTED: Tone.BAD,
    Outcome.DECIDED: Tone.GOOD,
    Outcome.NO_DECISION: Tone.NOTICE,
    Outcome.TIE: Tone.NOTICE,
}


def _bar_tone(kind: PollKind, option_id: str, winner: bool, tied: bool) -> Tone:
    """Yes green, no red, abstain grey; otherwise winners green, tied amber."""
    if kind is PollKind.YES_NO and option_id in YES_NO_IDS:
        return {YES: Tone.GOOD, NO: Tone.BAD, ABSTAIN: Tone.QUIET}[option_id]
    if winner:
        return Tone.GOOD
    return Tone.NOTICE if tied else Tone.PLAIN


def _decimal(value: float) -> str:
    """A share with one decimal, written the current language's way (53.1 / 53,1)."""
    return f"{value:.1f}".replace(".", tr("number.decimal"))
