"""acap: an absorptive-capacity instrument for health-care commissioning organisations.

Modules: ``items`` (item banks), ``scoring`` (score a responses table), ``aggregate``
(organisation results, rwg, ICC), ``reliability``, ``factor`` (EFA, CFA, invariance),
``network`` (advice networks), ``simulate`` (seeded data), ``cli``.
"""

__version__ = "0.1.0"
