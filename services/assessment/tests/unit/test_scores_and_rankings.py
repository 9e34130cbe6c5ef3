"""Scores (weighted attainment minus penalties), the one-vote veto, ranks and the bottom."""

from __future__ import annotations

import uuid

from assessment.domain.facts import PenaltyFact
from assessment.domain.periods import Clocks, Period
from assessment.domain.scoring import earlier_ranks, penalty_book, ranked, unit_score
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import CHANGAN, JIANSHE, XINHUA, ZHONGXINJIE
from assessment_testing import instant
from platform_kit.units import unit_tree

RULES = load_rules(DEFAULT_RULES)


def score(code: str, points: float, *, veto: bool = False):
    """A unit whose only indicator with anyone to count is met to ``points`` percent."""
    return unit_score(code, {"free_pregnancy_checks": (int(points), 100)}, RULES, {}, veto)


class TestScore:
    def test_attainment_is_capped_at_the_target(self):
        assert unit_score("x", {"free_pregnancy_checks": (100, 100)}, RULES, {}, False).attainment == 100.0
        assert unit_score("x", {"free_pregnancy_checks": (45, 100)}, RULES, {}, False).attainment == 50.0  # 45% of 90%

    def test_indicators_with_nobody_to_count_do_not_weigh(self):
        figures = {"free_pregnancy_checks": (9, 10), "free_contraceptives": (0, 0)}
        assert unit_score("x", figures, RULES, {}, False).attainment == 100.0

    def test_a_unit_with_nobody_to_count_has_no_score_not_a_perfect_one(self):
        nobody = unit_score("x", {}, RULES, {}, False)
        assert (nobody.assessed, nobody.attainment, nobody.score) == (False, None, None)

    def test_a_unit_with_nobody_to_count_keeps_its_penalties_but_still_has_no_score(self):
        nobody = unit_score("x", {}, RULES, {"unreported_birth": 5.0}, False)
        assert (nobody.penalty, nobody.score) == (5.0, None)

    def test_penalties_are_taken_off(self):
        s = unit_score("x", {"free_pregnancy_checks": (90, 100)}, RULES, {"unreported_birth": 15.0}, False)
        assert (s.attainment, s.penalty, s.score) == (100.0, 15.0, 85.0)


class TestRanking:
    def test_higher_scores_rank_first_and_equal_scores_share_a_rank(self):
        rows = ranked([score("a", 50), score("b", 80), score("c", 80), score("d", 20)])
        assert [(r.unit.unit_code, r.rank) for r in rows] == [("b", 1), ("c", 1), ("a", 3), ("d", 4)]

    def test_a_veto_puts_the_unit_last_whatever_its_score(self):
        rows = ranked([score("a", 50), score("b", 90, veto=True), score("c", 20)])
        assert [r.unit.unit_code for r in rows] == ["a", "c", "b"]
        assert rows[-1].rank == 3 and rows[-1].bottom

    def test_the_bottom_rank_is_flagged_and_ties_at_the_bottom_all_are(self):
        rows = ranked([score("a", 50), score("b", 20), score("c", 20)])
        assert {r.unit.unit_code for r in rows if r.bottom} == {"b", "c"}

    def test_a_units_first_assessed_period_has_no_earlier_rank(self):
        """2013-Q1 → Q2 for the towns (docs/assessment.md, example 6): 垎塔埠街道 had nobody to
        count in Q1 (no rank, listed apart with the other empty towns) and is 1st in Q2 — no
        earlier rank, not a rise; 中心街街道, assessed in both, keeps its Q1 rank."""
        nobody = unit_score(CHANGAN, {}, RULES, {}, False)
        q1 = ranked([nobody, score(JIANSHE, 20), unit_score("other", {}, RULES, {}, False)])
        assert [(r.unit.unit_code, r.rank) for r in q1] == [(JIANSHE, 1), (CHANGAN, None), ("other", None)]
        assert earlier_ranks(q1) == {JIANSHE: 1}
        assert CHANGAN not in earlier_ranks(q1)

    def test_a_unit_alone_in_its_group_is_not_the_bottom(self):
        assert not ranked([score("a", 10)])[0].bottom

    def test_units_with_nobody_to_count_are_listed_apart_unranked_below_every_ranked_unit(self):
        """Not assessed: no rank, after every unit in contention — even a vetoed one, which
        is last among those ranked — and never the bottom."""
        nobody = unit_score("n", {}, RULES, {}, False)
        rows = ranked([nobody, score("a", 50), score("b", 20), score("v", 90, veto=True), score("z", 0)])
        assert [(r.unit.unit_code, r.rank, r.bottom) for r in rows] == [
            ("a", 1, False), ("b", 2, False), ("z", 3, False), ("v", 4, True), ("n", None, False),
        ]

    def test_a_vetoed_unit_with_nobody_to_count_is_ranked_last_without_a_score(self):
        vetoed_empty = unit_score("w", {}, RULES, {}, True)
        rows = ranked([score("v", 90, veto=True), vetoed_empty, score("a", 50), unit_score("n", {}, RULES, {}, False)])
        assert [(r.unit.unit_code, r.rank, r.unit.score is None, r.bottom) for r in rows] == [
            ("a", 1, False, False), ("v", 2, False, False), ("w", 3, True, True), ("n", None, True, False),
        ]


class TestPenalties:
    def test_a_finding_in_a_village_also_counts_against_its_town_within_the_cap(self):
        findings = [
            PenaltyFact(uuid.UUID(int=i), "unreported_birth",
                        unit, instant("2013-11-20"), instant("2013-11-20"), 5.0)
            for i, unit in enumerate([JIANSHE, JIANSHE, XINHUA, XINHUA, XINHUA, CHANGAN], start=1)
        ]
        november = Period.parse("2013-11")
        book = penalty_book(findings, Clocks().window(november), Clocks(), unit_tree(), RULES)
        assert book.of(JIANSHE) == {"unreported_birth": 10.0}
        assert book.of(XINHUA) == {"unreported_birth": 15.0}
        assert book.of(ZHONGXINJIE) == {"unreported_birth": 20.0}  # 25, capped at 20
        assert book.of("370402000000") == {"unreported_birth": 20.0}
        assert book.of(CHANGAN) == {"unreported_birth": 5.0}

    def test_a_finding_not_yet_recorded_is_not_seen(self):
        finding = PenaltyFact(uuid.uuid4(), "unreported_birth", JIANSHE, instant("2013-11-20"), instant("2014-02-01"), 5.0)
        clocks = Clocks(known_at=instant("2013-12-31"))
        book = penalty_book([finding], clocks.window(Period.parse("2013")), clocks, unit_tree(), RULES)
        assert book.of(JIANSHE) == {}
