"""Synthetic agencies with ground truth, for testing linkage where real data cannot be used.

:func:`generate` draws a population (names from several locales via Faker,
addresses in a small synthetic state, aliases, married names), decides which
of three agencies -- healthcare, social services, prosecution -- knows each
person and how often, and writes each agency's extract in its own columns and
formats with the scenario's errors, plus ``truth.csv``, ``htlink encode``
mapping files and ``summary.json``.  :func:`exact_match_recall` measures the
baseline that linkage must beat.  See docs/synthetic-data.md.
"""

from htlink.synthetic.generate import ProgressCallback, SynthResult, generate
from htlink.synthetic.output import OutputFolderError
from htlink.synthetic.recall import RecallResult, exact_match_recall, split_full_name
from htlink.synthetic.scenario import (
    AgencySpec,
    MembershipSpec,
    PopulationSpec,
    Scenario,
    ScenarioError,
    default_scenario,
    load_scenario,
    scenario_from_dict,
)

__all__ = [
    "AgencySpec",
    "MembershipSpec",
    "OutputFolderError",
    "PopulationSpec",
    "ProgressCallback",
    "RecallResult",
    "Scenario",
    "ScenarioError",
    "SynthResult",
    "default_scenario",
    "exact_match_recall",
    "generate",
    "load_scenario",
    "scenario_from_dict",
    "split_full_name",
]
