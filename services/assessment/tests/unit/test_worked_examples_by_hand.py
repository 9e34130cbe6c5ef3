"""The worked examples of docs/assessment.md, computed by the pure core: every figure here
was worked out by hand in that document."""

from __future__ import annotations

import pytest

from assessment.domain.coverage import compile_indicators, from_scratch, rolled_up, window_figures
from assessment.domain.facts import by_subject, facts_of
from assessment.domain.periods import Clocks, Period, parse_instant, periods_of_year
from assessment.domain.scoring import unit_score
from assessment.settings import DEFAULT_RULES, load_rules
from assessment_examples import CHANGAN, GETABU, JIANSHE, XINHUA, ZHONGXINJIE, worked_examples
from platform_kit.contract import catalogue
from platform_kit.units import unit_tree

RULES = load_rules(DEFAULT_RULES)
INDICATORS = compile_indicators(RULES.indicators)


@pytest.fixture(scope="module")
def facts():
    return [f for e in worked_examples().events for f in facts_of(e, catalogue.load(e))]


@pytest.fixture(scope="module")
def view(facts):
    return rolled_up(from_scratch(by_subject(facts), periods_of_year(2013), INDICATORS), unit_tree())


def figure(view, unit: str, indicator: str, period: str) -> tuple[int, int]:
    return view.get((unit, indicator, Period.parse(period)), (0, 0))


class TestAWomanWhoMovedTwiceInAQuarter:
    def test_she_counts_once_in_the_quarter_where_she_lived_at_its_end(self, view):
        assert figure(view, CHANGAN, "free_pregnancy_checks", "2013-Q2") == (1, 1)
        assert figure(view, XINHUA, "free_pregnancy_checks", "2013-Q2") == (0, 0)
        assert figure(view, JIANSHE, "free_pregnancy_checks", "2013-Q2") == (0, 1)  # Zhao Min, not her

    def test_a_check_from_the_unit_she_lived_in_then_is_a_service_where_she_lives(self, view):
        assert figure(view, CHANGAN, "services_where_they_live", "2013-Q2") == (1, 1)

    def test_no_contraceptives_means_one_short_of_the_target(self, view):
        assert figure(view, CHANGAN, "free_contraceptives", "2013-Q2") == (0, 1)

    def test_each_month_counts_her_where_she_lived_at_its_end(self, view):
        assert figure(view, XINHUA, "free_pregnancy_checks", "2013-04") == (0, 1)  # moved in on the 20th
        assert figure(view, XINHUA, "free_pregnancy_checks", "2013-05") == (1, 1)
        assert figure(view, CHANGAN, "free_pregnancy_checks", "2013-06") == (0, 1)
        assert figure(view, JIANSHE, "free_pregnancy_checks", "2013-Q1") == (0, 2)  # with Zhao Min

    def test_her_latest_answer_in_the_period_decides_her_awareness(self, view):
        assert figure(view, CHANGAN, "policy_awareness", "2013-Q2") == (1, 1)
        assert figure(view, XINHUA, "policy_awareness", "2013-05") == (0, 1)

    def test_towns_add_up_their_villages_and_count_her_once(self, view):
        assert figure(view, GETABU, "free_pregnancy_checks", "2013-Q2") == (1, 1)
        assert figure(view, ZHONGXINJIE, "free_pregnancy_checks", "2013-Q2") == (0, 1)
        assert figure(view, "370402000000", "free_pregnancy_checks", "2013-Q2") == (1, 2)
        assert figure(view, ZHONGXINJIE, "services_where_they_live", "2013-Q2") == (1, 2)  # Xiao Ming (7) is owed no technical service
        assert figure(view, "370402000000", "services_where_they_live", "2013-Q2") == (2, 3)


class TestACouplePlanningAPregnancy:
    def test_the_couple_counts_once_and_the_partners_consultation_counts(self, view):
        assert figure(view, JIANSHE, "pre_pregnancy_consultation", "2013-Q2") == (1, 1)
        assert figure(view, JIANSHE, "pre_pregnancy_health_check", "2013-Q2") == (0, 1)

    def test_a_consultation_after_the_quarter_does_not_count_in_it(self, view):
        assert figure(view, JIANSHE, "pre_pregnancy_consultation", "2013-Q1") == (0, 1)

    def test_both_partners_are_married_people_of_childbearing_age(self, view):
        assert figure(view, JIANSHE, "free_contraceptives", "2013-Q2") == (0, 2)
        assert figure(view, JIANSHE, "free_contraceptives", "2013-Q1") == (0, 3)  # Li Na was still there


class TestAChildOfCompulsorySchoolAge:
    def test_enrolled_in_september_counts_from_the_third_quarter(self, view):
        assert figure(view, XINHUA, "compulsory_education_enrolment", "2013-Q2") == (0, 1)
        assert figure(view, XINHUA, "compulsory_education_enrolment", "2013-Q3") == (1, 1)
        assert figure(view, XINHUA, "compulsory_education_enrolment", "2013") == (1, 1)


class TestTheLateBirthOnBothClocks:
    def test_as_occurred_the_newborn_lives_with_his_mother_from_december_20th(self, view):
        assert figure(view, JIANSHE, "services_where_they_live", "2013-12") == (2, 3)

    def test_known_at_the_end_of_december_the_birth_is_not_seen(self, facts):
        clocks = Clocks(known_at=parse_instant("2013-12-31", field="known_at"))
        december = Period.parse("2013-12")
        seen = [f for f in facts if clocks.sees(f.occurred_at, f.recorded_at)]
        figures = window_figures(by_subject(seen), clocks.window(december), december, INDICATORS)
        assert figures[(JIANSHE, "services_where_they_live", december)] == (2, 2)

    def test_the_plan_was_in_force_in_december_until_the_birth(self, view):
        assert figure(view, JIANSHE, "pre_pregnancy_consultation", "2013-12") == (0, 1)


class TestScore:
    def test_weighted_attainment_of_changan_in_the_second_quarter(self, view):
        figures = {i.id: figure(view, CHANGAN, i.id, "2013-Q2") for i in RULES.indicators}
        score = unit_score(CHANGAN, figures, RULES, {}, veto=False)
        # (15·0 + 15·1 + 15·1 + 10·1) / (15 + 15 + 15 + 10) = 40 / 55
        assert score.attainment == 72.73
        assert score.score == 72.73

    def test_an_unreported_birth_costs_five_points(self, view):
        figures = {i.id: figure(view, JIANSHE, i.id, "2013-11") for i in RULES.indicators}
        score = unit_score(JIANSHE, figures, RULES, {"unreported_birth": 5.0}, veto=False)
        assert (score.attainment, score.penalty, score.score) == (0.0, 5.0, -5.0)


@pytest.fixture(scope="module")
def registered(facts):
    indicators = compile_indicators(RULES.indicators, "registered")
    return rolled_up(from_scratch(by_subject(facts), periods_of_year(2013), indicators), unit_tree())


class TestEqualisation:
    """Example 7: the same rules count the registered population (户籍人口) apart from migrants."""

    def test_registered_women_are_counted_apart_from_the_migrants(self, view, registered):
        assert figure(registered, JIANSHE, "free_pregnancy_checks", "2013-Q2") == (1, 2)  # Sun Li checked, Zhou Hong not
        assert figure(view, JIANSHE, "free_pregnancy_checks", "2013-Q2") == (0, 1)  # Zhao Min only
        assert figure(registered, ZHONGXINJIE, "free_pregnancy_checks", "2013-Q2") == (1, 2)
        assert figure(registered, CHANGAN, "free_pregnancy_checks", "2013-Q2") == (0, 0)

    def test_the_gap_is_migrant_minus_registered_in_points(self):
        from assessment.domain.scoring import equalisation_gap

        assert equalisation_gap(0.0, 0.5) == -50.0
        assert equalisation_gap(None, 0.5) is None

    def test_an_unknown_population_is_refused(self):
        with pytest.raises(ValueError, match="population"):
            compile_indicators(RULES.indicators, "tourist")


@pytest.fixture(scope="module")
def returned():
    from assessment_examples import returner

    facts = [f for e in returner().events for f in facts_of(e, catalogue.load(e))]
    return rolled_up(from_scratch(by_subject(facts), periods_of_year(2013), INDICATORS), unit_tree())


class TestAReturnerCountsOnce:
    """Example 8: leaves in April, registered again (new resident id, same person key) in May
    in another village of the same town: one person in the town's Q2 figures, not two."""

    def test_the_town_counts_her_once_in_the_quarter(self, returned):
        assert figure(returned, ZHONGXINJIE, "free_pregnancy_checks", "2013-Q2") == (1, 1)
        assert figure(returned, XINHUA, "free_pregnancy_checks", "2013-Q2") == (1, 1)
        assert figure(returned, JIANSHE, "free_pregnancy_checks", "2013-Q2") == (0, 0)

    def test_before_she_left_she_counted_where_she_lived_then(self, returned):
        assert figure(returned, JIANSHE, "free_pregnancy_checks", "2013-Q1") == (0, 1)
        assert figure(returned, XINHUA, "free_pregnancy_checks", "2013-Q1") == (0, 0)
        assert figure(returned, JIANSHE, "free_pregnancy_checks", "2013-04") == (0, 1)  # left on the 10th
        assert figure(returned, ZHONGXINJIE, "free_pregnancy_checks", "2013") == (1, 1)


@pytest.fixture(scope="module")
def schooled():
    from assessment_examples import school_entry

    facts = [f for e in school_entry().events for f in facts_of(e, catalogue.load(e))]
    return from_scratch(by_subject(facts), periods_of_year(2013), INDICATORS)


class TestTheSchoolEntryCutOff:
    """Example 9: school age is the age reached by 31 August, the eve of the school year."""

    def test_a_child_who_turns_6_after_1_september_is_not_yet_of_school_age(self, schooled):
        # Liu Yang turned 6 on 20 August: of school age from the school year starting 1 September;
        # Ma Li turns 6 on 15 October: not until the school year 2014.
        assert figure(schooled, CHANGAN, "compulsory_education_enrolment", "2013-Q4") == (1, 1)
        assert figure(schooled, CHANGAN, "compulsory_education_enrolment", "2013-Q2") == (0, 0)
        assert figure(schooled, CHANGAN, "compulsory_education_enrolment", "2013") == (1, 1)

    def test_the_cut_off_is_the_eve_of_the_school_year(self):
        from datetime import date

        from assessment.domain.rules import school_entry_age

        assert school_entry_age(date(2007, 10, 15), date(2013, 12, 31)) == 5
        assert school_entry_age(date(2007, 8, 20), date(2013, 9, 1)) == 6
        assert school_entry_age(date(2007, 8, 20), date(2013, 8, 31)) == 5  # still the school year 2012
        assert school_entry_age(date(2007, 9, 1), date(2014, 9, 2), "09-01") == 7  # a 1 September cut-off opens the year on the 2nd

    def test_a_cut_off_that_is_no_day_is_refused(self):
        from assessment.domain.rules import check_rule

        with pytest.raises(ValueError, match="MM-DD"):
            check_rule("denominator", "children_of_compulsory_school_age:02-30")


@pytest.fixture(scope="module")
def local():
    from assessment_examples import where_they_live

    facts = [f for e in where_they_live().events for f in facts_of(e, catalogue.load(e))]
    return rolled_up(from_scratch(by_subject(facts), periods_of_year(2013), INDICATORS), unit_tree())


class TestServedWhereTheyLive:
    """Example 10: 在现居住地 / 在流入地 — her village, or its town's or the district's station."""

    def test_a_check_from_another_village_is_not_a_check_where_she_lives(self, local):
        assert figure(local, JIANSHE, "free_pregnancy_checks", "2013-Q2") == (0, 1)
        assert figure(local, JIANSHE, "services_where_they_live", "2013-Q2") == (0, 1)

    def test_a_check_from_her_towns_station_counts_for_her_village(self, local):
        assert figure(local, XINHUA, "free_pregnancy_checks", "2013-Q2") == (1, 1)

    def test_a_leaflet_is_not_a_technical_service(self, local):
        assert figure(local, XINHUA, "services_where_they_live", "2013-Q2") == (1, 2)  # Hu Jing yes, Tian Lei no

    def test_a_pre_pregnancy_health_check_counts_from_the_district_station_not_another_town(self, local):
        assert figure(local, JIANSHE, "pre_pregnancy_health_check", "2013-Q2") == (0, 1)
        assert figure(local, JIANSHE, "pre_pregnancy_health_check", "2013-Q3") == (1, 1)
        assert figure(local, JIANSHE, "services_where_they_live", "2013-Q3") == (1, 1)


@pytest.fixture(scope="module")
def couple_view():
    from assessment_examples import couple

    facts = [f for e in couple().events for f in facts_of(e, catalogue.load(e))]
    return from_scratch(by_subject(facts), periods_of_year(2013), INDICATORS)


class TestContraceptivesPerCouple:
    """Example 11: Sun Wei and Qian Hui marry on 1 March, each naming the other; he is supplied in April."""

    def test_a_couple_supplied_once_is_covered_and_counts_once(self, couple_view):
        assert figure(couple_view, CHANGAN, "free_contraceptives", "2013-Q2") == (1, 1)

    def test_before_the_supply_the_couple_is_one_not_yet_covered(self, couple_view):
        assert figure(couple_view, CHANGAN, "free_contraceptives", "2013-03") == (0, 1)
        assert figure(couple_view, CHANGAN, "free_contraceptives", "2013-02") == (0, 0)  # not married yet
