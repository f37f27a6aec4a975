"""The loneliness and isolation measures of a report, in aggregate and only for cases whose person consented
to statistics: the distribution at intake and at the latest review, and how many persons changed.

Three grouped statements whatever the number of cases (intake, latest review, change), each over the
assessments of the municipality's cases. Instruments are never mixed. Only the person's own answers
(`respondent` self) fall into the national survey's bands; answers a supporter gave for the person
(proxy) are counted apart, and a change is counted only where both answers are the person's own.

Unit: a case (one episode of one person); a person with two episodes in the period counts twice.
- At intake: the case's first baseline assessment, recorded in the period.
- At review: the case's latest review assessment recorded in the period.
- Change: cases with a review in the period, comparing that latest review with the case's intake
  (whenever it was recorded). For all three instruments a lower score is better.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session, aliased

from ..casefile.sharing import STATISTICS
from ..casefile.tables import AssessmentRecord, ConsentRecord
from ..models import CaseRecord

# 内閣府「孤独・孤立の実態把握に関する全国調査」の集計区分: the direct question's five answers one by one,
# the UCLA 3-item total (3-12) in the bands 3 / 4-6 / 7-9 / 10-12, the isolation indicators 0-4 one by one.
# Configurable: thresholds differ between studies (DOMAIN.md), so comparing with another study means
# changing the (lowest, highest) score pairs here; a score outside every band is counted apart.
SURVEY_BANDS: dict[str, tuple[tuple[int, int], ...]] = {
    "direct_loneliness_jp": ((1, 1), (2, 2), (3, 3), (4, 4), (5, 5)),
    "ucla3_jp": ((3, 3), (4, 6), (7, 9), (10, 12)),
    "isolation_indicators": ((0, 0), (1, 1), (2, 2), (3, 3), (4, 4)),
}
INSTRUMENTS = tuple(SURVEY_BANDS)
SELF, PROXY = "self", "proxy"
BASELINE, REVIEW = "baseline", "review"


@dataclass
class BandCount:
    low: int
    high: int
    intake: int = 0
    review: int = 0


@dataclass
class InstrumentMeasure:
    """One instrument's persons by band at intake and at review (own answers), and their change."""

    instrument: str
    bands: list[BandCount] = field(default_factory=list)
    intake_proxy: int = 0  # answered by a supporter: not comparable with the survey, so not in the bands
    review_proxy: int = 0
    out_of_bands: int = 0  # own answers whose score is in no band (another study's scale)
    improved: int = 0
    same: int = 0
    worse: int = 0

    @property
    def intake_total(self) -> int:
        return sum(b.intake for b in self.bands)

    @property
    def review_total(self) -> int:
        return sum(b.review for b in self.bands)

    @property
    def changed_total(self) -> int:
        return self.improved + self.same + self.worse

    def band_of(self, score: int) -> BandCount | None:
        return next((b for b in self.bands if b.low <= score <= b.high), None)


def statistics_consent() -> ColumnElement[bool]:
    """The case's person consented to statistics: a consent given, listing the purpose, not withdrawn and
    not overtaken by the switch to the council's secrecy (as `sharing.consent_for` decides for one case).

    `purposes` is a JSON list, stored as text on SQLite and as `json` on PostgreSQL; cast to text, both
    read `["...", "statistics"]`, so the quoted name matches on both and no other purpose contains it."""
    return exists().where(
        ConsentRecord.case_id == CaseRecord.id, ConsentRecord.decision == "given",
        ConsentRecord.withdrawn_at.is_(None), cast(ConsentRecord.purposes, String).like(f'%"{STATISTICS}"%'),
        or_(CaseRecord.secrecy_since.is_(None), ConsentRecord.recorded_at > CaseRecord.secrecy_since))


def _chosen(town: int, stage: str, first: bool, start: datetime | None, end: datetime | None) -> Any:
    """Per case and instrument, the id of its first (or latest) scored assessment of `stage`, of cases of
    the town consenting to statistics, recorded in [start, end) when given."""
    picked = (func.min if first else func.max)(AssessmentRecord.id).label("id")
    query = (select(picked).select_from(AssessmentRecord)
             .join(CaseRecord, CaseRecord.id == AssessmentRecord.case_id)
             .where(CaseRecord.municipality_id == town, AssessmentRecord.stage == stage,
                    AssessmentRecord.instrument.in_(INSTRUMENTS), AssessmentRecord.score.is_not(None),
                    statistics_consent()))
    if start is not None and end is not None:
        query = query.where(AssessmentRecord.recorded_at >= start, AssessmentRecord.recorded_at < end)
    return query.group_by(AssessmentRecord.case_id, AssessmentRecord.instrument)


def _distribution(session: Session, ids: Any) -> list[tuple[str, str, int, int]]:
    """(instrument, respondent, score, count) over the chosen assessments."""
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(AssessmentRecord.instrument, AssessmentRecord.respondent, AssessmentRecord.score,
               func.count(AssessmentRecord.id))
        .where(AssessmentRecord.id.in_(ids))
        .group_by(AssessmentRecord.instrument, AssessmentRecord.respondent, AssessmentRecord.score))]


def _changes(session: Session, town: int, start: datetime, end: datetime) -> list[tuple[str, str, int]]:
    """(instrument, improved/same/worse, count) over cases with an own answer at intake and at review."""
    intake, review = aliased(AssessmentRecord), aliased(AssessmentRecord)
    first = _chosen(town, BASELINE, True, None, None).add_columns(
        AssessmentRecord.case_id, AssessmentRecord.instrument).subquery()
    latest = _chosen(town, REVIEW, False, start, end).subquery()
    direction = case((review.score < intake.score, "improved"), (review.score == intake.score, "same"),
                     else_="worse").label("direction")
    inner = (select(intake.instrument.label("instrument"), direction)
             .select_from(review)
             .join(intake, and_(intake.case_id == review.case_id, intake.instrument == review.instrument))
             .where(review.id.in_(select(latest.c.id)), intake.id.in_(select(first.c.id)),
                    intake.respondent == SELF, review.respondent == SELF)).subquery()
    return [tuple(row) for row in session.execute(  # type: ignore[misc]
        select(inner.c.instrument, inner.c.direction, func.count()).group_by(inner.c.instrument, inner.c.direction))]


def measures(session: Session, town: int, start: datetime, end: datetime) -> list[InstrumentMeasure]:
    """The three instruments' distributions at intake and at the latest review in [start, end), and change."""
    found = {code: InstrumentMeasure(code, [BandCount(low, high) for low, high in bands])
             for code, bands in SURVEY_BANDS.items()}
    for stage, rows in ((BASELINE, _distribution(session, _chosen(town, BASELINE, True, start, end))),
                        (REVIEW, _distribution(session, _chosen(town, REVIEW, False, start, end)))):
        for instrument, respondent, score, count in rows:
            measure = found[instrument]
            band = measure.band_of(score)
            if respondent != SELF:
                if stage == BASELINE:
                    measure.intake_proxy += count
                else:
                    measure.review_proxy += count
            elif band is None:
                measure.out_of_bands += count
            elif stage == BASELINE:
                band.intake += count
            else:
                band.review += count
    for instrument, direction, count in _changes(session, town, start, end):
        setattr(found[instrument], direction, getattr(found[instrument], direction) + count)
    return list(found.values())
