"""Scenario files: one validated, unit-explicit description of a whole treatment.

A scenario is a versioned TOML file (``phototherm_scenario = 1``) or the same
data built in Python::

    >>> from phototherm.scenario import load_scenario, example_scenario_path
    >>> scenario = load_scenario(example_scenario_path("ptt_demo"))
    >>> scenario.sources[0].power_W
    1.5
    >>> text = scenario.to_toml()          # and scenario.save("copy.toml")

Every problem in a scenario is reported at once as an
:class:`~phototherm.errors.InputError` naming the key path
(``sources[0].power_W``), the value and what was expected; unknown keys get
"did you mean ...?". See :mod:`phototherm.scenario.schema` for the format,
:func:`template_text` for a commented template and :func:`scenario_json_schema`
for the JSON Schema editors use.
"""

from .checks import check_scenario
from .io import (
    EXAMPLE_SCENARIOS,
    dumps_toml,
    example_scenario_path,
    load_scenario,
    loads_scenario,
    parse_toml,
    save_scenario,
    scenario_from_dict,
    scenario_to_dict,
)
from .json_schema import scenario_json_schema, write_json_schema
from .schema import FORMAT_VERSION, Scenario
from .template import describe_scenario, template_text, write_template

__all__ = [
    "FORMAT_VERSION",
    "Scenario",
    "load_scenario",
    "loads_scenario",
    "scenario_from_dict",
    "scenario_to_dict",
    "dumps_toml",
    "save_scenario",
    "parse_toml",
    "check_scenario",
    "scenario_json_schema",
    "write_json_schema",
    "template_text",
    "write_template",
    "describe_scenario",
    "example_scenario_path",
    "EXAMPLE_SCENARIOS",
]
