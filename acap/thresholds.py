"""Every cut-off acap judges a statistic against, written once.

Each entry gives the statistic, the rule in words, the value compared with and its source.
Verdicts in :mod:`acap.validate`, flags in the feedback reports and the publication layer's
minimum n all read them from here; ``docs/methods/validation-report.md`` lists them.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MIN_N", "THRESHOLDS", "cut", "cut_text"]

#: Default minimum number of respondents for a published organisation or role-group cell.
DEFAULT_MIN_N = 5

#: Every threshold acap uses: statistic, rule, value and source.
THRESHOLDS: dict[str, dict] = {
    "alpha": dict(statistic="Cronbach's alpha", rule="≥ .70 acceptable; ≥ .80 good; < .60 poor",
                  value=0.70, source="Nunnally JC. Psychometric theory. 2nd ed. McGraw-Hill; 1978 "
                  "(.70 for early-stage research, .80 for basic research)"),
    "reliability_good": dict(statistic="Reliability (the lower of alpha and omega total), 'good' band",
                             rule="≥ .80 good", value=0.80, source="Nunnally JC. Psychometric theory. 2nd ed. "
                             "McGraw-Hill; 1978 (.80 for basic research)"),
    "reliability_questionable": dict(statistic="Reliability, 'questionable' band",
                                     rule="≥ .60 questionable; below .60 poor", value=0.60,
                                     source="George D, Mallery P. SPSS for Windows step by step. Allyn & Bacon; "
                                     "2003 (bands of .10)"),
    "omega_total": dict(statistic="McDonald's omega total", rule="read as alpha (≥ .70 acceptable, ≥ .80 good)",
                        value=0.70, source="McDonald RP. Test theory: a unified treatment. Erlbaum; 1999; "
                        "bands as Nunnally 1978"),
    "omega_h": dict(statistic="Omega hierarchical (whole bank)",
                    rule="≥ .80: a total score is essentially unidimensional", value=0.80,
                    source="Rodriguez A, Reise SP, Haviland MG. Psychol Methods 2016;21:137-50"),
    "item_rest": dict(statistic="Corrected item-total (item-rest) correlation", rule="≥ .30",
                      value=0.30, source="Nunnally JC, Bernstein IH. Psychometric theory. 3rd ed. "
                      "McGraw-Hill; 1994"),
    "floor_ceiling": dict(statistic="Respondents at the lowest / highest possible scale score",
                          rule="> 15% is a floor / ceiling effect", value=0.15,
                          source="Terwee CB, et al. J Clin Epidemiol 2007;60:34-42"),
    "kmo": dict(statistic="Kaiser-Meyer-Olkin MSA", rule="≥ .60 adequate ('mediocre'); ≥ .80 'meritorious'",
                value=0.60, source="Kaiser HF. Psychometrika 1974;39:31-6"),
    "kmo_meritorious": dict(statistic="Kaiser-Meyer-Olkin MSA, 'meritorious' band", rule="≥ .80", value=0.80,
                            source="Kaiser HF. Psychometrika 1974;39:31-6"),
    "salient_loading": dict(statistic="EFA pattern loading printed in the loadings figure", rule="|loading| ≥ .30",
                            value=0.30, source="Tabachnick BG, Fidell LS. Using multivariate statistics. 7th ed. "
                            "Pearson; 2019"),
    "bartlett": dict(statistic="Bartlett's test of sphericity", rule="p < .05", value=0.05,
                     source="Bartlett MS. Br J Stat Psychol 1950;3:77-85"),
    "parallel": dict(statistic="Parallel analysis", rule="retain factors whose eigenvalue exceeds the 95th "
                     "percentile of random data", value=0.95, source="Horn JL. Psychometrika 1965;30:179-85"),
    "map": dict(statistic="Velicer's MAP", rule="retain the number that minimises the average squared "
                "partial correlation", value=None, source="Velicer WF. Psychometrika 1976;41:321-7"),
    "cfi": dict(statistic="CFI", rule="≥ .95", value=0.95, source="Hu L, Bentler PM. Struct Equ Modeling 1999;6:1-55"),
    "tli": dict(statistic="TLI", rule="≥ .95", value=0.95, source="Hu L, Bentler PM. Struct Equ Modeling 1999;6:1-55"),
    "rmsea": dict(statistic="RMSEA", rule="≤ .06", value=0.06, source="Hu L, Bentler PM. Struct Equ Modeling 1999;6:1-55"),
    "srmr": dict(statistic="SRMR", rule="≤ .08", value=0.08, source="Hu L, Bentler PM. Struct Equ Modeling 1999;6:1-55"),
    "delta_cfi": dict(statistic="Change in CFI between nested invariance models", rule="a drop of no more than .01",
                      value=-0.01, source="Cheung GW, Rensvold RB. Struct Equ Modeling 2002;9:233-55"),
    "rwg_j": dict(statistic="rwg(j), median over the organisations shown (min_n or more respondents)",
                  rule="≥ .70 (.71-.90 is strong agreement)", value=0.70,
                  source="LeBreton JM, Senter JL. Organ Res Methods 2008;11:815-52"),
    "icc1": dict(statistic="ICC(1)", rule="≥ .05 (values of .05-.20 are typical)", value=0.05,
                 source="Bliese PD. In: Klein KJ, Kozlowski SWJ, eds. Multilevel theory, research, and "
                 "methods in organizations. Jossey-Bass; 2000:349-81"),
    "icc2": dict(statistic="ICC(2)", rule="≥ .70", value=0.70,
                 source="LeBreton JM, Senter JL. Organ Res Methods 2008;11:815-52; Bliese PD 2000"),
    "change": dict(statistic="Change in a scale mean since the previous wave",
                   rule="larger than its uncertainty when the 95% confidence interval of the change (Welch) "
                   "excludes zero", value=0.95,
                   source="Welch BL. Biometrika 1947;34:28-35 (acap.change)"),
    "development_area": dict(statistic="Co-ordination capability mean (1-7) in the feedback report",
                             rule="below 4.5 (short of 'slightly agree'), or below the peers' lower quartile: "
                             "a development area with recommended actions", value=4.5,
                             source="acap feedback convention"),
    "strength": dict(statistic="Scale mean (1-7) in the feedback report", rule="5.5 or more: a strength",
                     value=5.5, source="acap feedback convention"),
    "large_gap": dict(statistic="Knowledge source gathered minus used (1-7 extent scale)",
                      rule="1.0 point or more: a large gap, with recommended actions", value=1.0,
                      source="acap feedback convention (after Currie et al. 2018, who found knowledge "
                      "gathered but not used)"),
}


def cut(key: str) -> float:
    """The value of threshold ``key`` (e.g. ``cut("kmo")`` is 0.60)."""
    return THRESHOLDS[key]["value"]


def cut_text(key: str, digits: int = 2) -> str:
    """The value of threshold ``key`` as a report writes it: ``.60``, ``15%`` for shares."""
    v = cut(key)
    if key == "floor_ceiling":
        return f"{v:.0%}"
    s = f"{abs(v):.{digits}f}"
    return ("-" if v < 0 else "") + (s[1:] if s.startswith("0.") else s)
