"""Measurement-model specifications: lavaan model syntax or a ``{factor: [items]}`` mapping.

``parse_model`` reads either form into one :class:`ModelSpec`, which :func:`acap.factor.cfa`,
:func:`acap.factor.invariance` and ``acap validate --model`` use. The subset of lavaan's
syntax read here is the one a measurement model needs:

- ``factor =~ item1 + item2 + ...`` defines a factor (a factor may be defined on several
  lines; its first item is the marker, loading fixed at 1, unless the loadings say otherwise);
- ``item1 ~~ item2`` frees a residual covariance; ``f1 ~~ f2`` / ``f ~~ f`` a latent
  covariance / variance (free already, so only useful with a fixed value);
- pre-multipliers fix or free a parameter: ``1*x1``, ``0.5*x2``, ``NA*x1`` (free the marker),
  ``0*f2`` (``f1 ~~ 0*f2``: orthogonal factors);
- ``#`` and ``!`` start comments; statements end at a line break or ``;``; a statement may
  continue on the next line after a trailing ``+`` (or when the next line starts with ``+``).

Anything else (regressions ``~``, thresholds ``|``, labels, ``:=``, constraints) is refused with
an :class:`~acap.errors.AcapInputError` naming the line and the token.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from acap.errors import AcapInputError

__all__ = ["ModelSpec", "parse_model"]

_NAME = re.compile(r"[A-Za-z_.][A-Za-z0-9_.]*\Z")
_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\Z")
# longest first, so that "=~" is not read as "~"
_OPERATORS = ("=~", "~~", "~*~", ":=", "==", "<~", "~1", "|", "~", "<", ">")


@dataclass(frozen=True)
class ModelSpec:
    """A measurement model: factors, their items, residual covariances and fixed values.

    Attributes
    ----------
    factors : Mapping[str, tuple[str, ...]]
        Factor -> its items, in the order given (the first is the default marker).
    covariances : tuple[tuple[str, str], ...]
        Freed residual covariances between items.
    fixed : Mapping[tuple[str, str, str], float | None]
        ``(lhs, op, rhs) -> value`` for parameters given a pre-multiplier: a number fixes the
        parameter at that value, ``None`` (``NA*``) frees it. ``op`` is ``"=~"`` or ``"~~"``.
    """

    factors: Mapping[str, tuple[str, ...]]
    covariances: tuple[tuple[str, str], ...] = ()
    fixed: Mapping[tuple[str, str, str], float | None] = field(default_factory=dict)

    @property
    def items(self) -> tuple[str, ...]:
        """Every item once, in order of first mention."""
        out: list[str] = []
        for its in self.factors.values():
            out.extend(i for i in its if i not in out)
        return tuple(out)

    def as_dict(self) -> dict[str, list[str]]:
        """``{factor: [items]}`` (the mapping form, without covariances or fixed values)."""
        return {f: list(v) for f, v in self.factors.items()}

    def loading(self, factor: str, item: str) -> tuple[bool, float]:
        """(free, value) of a loading: the marker is fixed at 1 unless a multiplier says so."""
        key = (factor, "=~", item)
        if key in self.fixed:
            v = self.fixed[key]
            return (True, 0.0) if v is None else (False, float(v))
        if self.factors[factor][0] == item and not self._marker_freed(factor):
            return False, 1.0
        return True, 0.0

    def _marker_freed(self, factor: str) -> bool:
        # lavaan: "NA*x1" frees the first loading; the factor is then identified by a fixed
        # variance, which the user writes ("f ~~ 1*f")
        first = self.factors[factor][0]
        return (factor, "=~", first) in self.fixed

    def latent(self, a: str, b: str) -> tuple[bool, float]:
        """(free, value) of a latent variance (a == b) or covariance."""
        for key in ((a, "~~", b), (b, "~~", a)):
            if key in self.fixed:
                v = self.fixed[key]
                return (True, 0.0) if v is None else (False, float(v))
        return True, 0.0


def parse_model(model) -> ModelSpec:
    """Read a measurement model from lavaan syntax or a ``{factor: [items]}`` mapping.

    Parameters
    ----------
    model : str or Mapping[str, Sequence[str] | str] or ModelSpec
        lavaan model syntax (``"visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6"``), or a
        mapping from factor to its items (a list, or a string ``"x1 + x2 + x3"``).

    Returns
    -------
    ModelSpec

    Raises
    ------
    AcapInputError
        Bad syntax (naming the line and the token), a factor with fewer than two items, an item
        listed twice for one factor, a factor with an item's name, a covariance of an unknown
        variable.

    Examples
    --------
    >>> spec = parse_model('''
    ...   visual  =~ x1 + x2 + x3   # a comment
    ...   textual =~ x4 + x5 +
    ...              x6
    ...   x1 ~~ x4''')
    >>> spec.as_dict()
    {'visual': ['x1', 'x2', 'x3'], 'textual': ['x4', 'x5', 'x6']}
    >>> spec.covariances
    (('x1', 'x4'),)
    >>> parse_model({"f": ["a", "b", "c"]}).items
    ('a', 'b', 'c')
    """
    if isinstance(model, ModelSpec):
        return model
    if isinstance(model, str):
        return _from_text(model)
    if isinstance(model, Mapping):
        return _from_mapping(model)
    raise AcapInputError("model must be lavaan model syntax (a string) or a mapping "
                         "{factor: [items]}", "model")


def _from_mapping(model: Mapping) -> ModelSpec:
    if len(model) == 0:
        raise AcapInputError("model must be a non-empty mapping {factor: [items]}", "model")
    factors: dict[str, list[str]] = {}
    for factor, items in model.items():
        where = f"model, factor {factor!r}"
        if not isinstance(factor, str) or not factor:
            raise AcapInputError("factor names must be non-empty strings", where)
        if isinstance(items, str):
            items = [s for s in items.replace("+", " ").split() if s]
        if not isinstance(items, Iterable):
            raise AcapInputError("items must be a list of column names", where)
        items = list(items)
        if not all(isinstance(i, str) and i for i in items):
            raise AcapInputError("items must be non-empty strings (column names)", where)
        dup = sorted({i for i in items if items.count(i) > 1})
        if dup:
            raise AcapInputError(f"item {dup[0]!r} is listed twice", where)
        factors[factor] = items
    return _finish(factors, [], {}, {})


def _statements(text: str):
    """(line number, statement) pairs: comments dropped, ';' split, '+' continuations joined."""
    out: list[list] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = re.split(r"[#!]", raw, maxsplit=1)[0]
        for part in line.split(";"):
            part = part.strip()
            if not part:
                continue
            if out and (out[-1][1].endswith("+") or part.startswith("+")):
                out[-1][1] = f"{out[-1][1]} {part}"
            else:
                out.append([no, part])
    return [(no, s) for no, s in out]


def _modifier(token: str, where: str):
    """``1*x1`` -> ('x1', True, 1.0); ``NA*x1`` -> ('x1', True, None); ``x1`` -> ('x1', False, None)."""
    if "*" not in token:
        name = token.strip()
        if not _NAME.match(name):
            raise AcapInputError(f"{name!r} is not a variable name", where)
        return name, False, None
    mod, _, name = token.partition("*")
    mod, name = mod.strip(), name.strip()
    if not _NAME.match(name):
        raise AcapInputError(f"{name!r} is not a variable name (in {token.strip()!r})", where)
    if mod == "NA":
        return name, True, None
    if _NUMBER.match(mod):
        value = float(mod)
        if math.isfinite(value):
            return name, True, value
    raise AcapInputError(f"modifier {mod!r} in {token.strip()!r} is not supported: use a number "
                         "(fixed value) or NA (free); labels and start() are not read", where)


def _from_text(text: str) -> ModelSpec:
    factors: dict[str, list[str]] = {}
    covs: list[tuple[str, str, int]] = []
    fixed: dict[tuple[str, str, str], float | None] = {}
    latent_fixed: dict[tuple[str, str], tuple[float | None, int]] = {}
    statements = _statements(text)
    if not statements:
        raise AcapInputError("the model syntax is empty", "model")
    for no, stmt in statements:
        where = f"model, line {no}"
        op = next((o for o in _OPERATORS if o in stmt), None)
        if op is None:
            raise AcapInputError(f"no operator in {stmt!r}: a factor is defined as "
                                 "'factor =~ item1 + item2'", where)
        # find the first operator by position (so "a =~ b" is not taken for "~")
        pos = min((stmt.find(o), -len(o), o) for o in _OPERATORS if o in stmt)
        op = pos[2]
        if op not in ("=~", "~~"):
            raise AcapInputError(f"operator {op!r} is not supported: acap fits measurement "
                                 "models ('=~' for factors, '~~' for covariances)", where)
        lhs, rhs = stmt[:pos[0]].strip(), stmt[pos[0] + len(op):].strip()
        if not _NAME.match(lhs):
            raise AcapInputError(f"{lhs!r} before {op!r} is not a variable name", where)
        if not rhs:
            raise AcapInputError(f"nothing after {op!r}", where)
        terms = [t for t in rhs.split("+")]
        if any(not t.strip() for t in terms):
            raise AcapInputError(f"an empty term in {rhs!r} (a '+' too many?)", where)
        for term in terms:
            name, has_mod, value = _modifier(term, where)
            if op == "=~":
                its = factors.setdefault(lhs, [])
                if name in its:
                    raise AcapInputError(f"item {name!r} is listed twice for factor {lhs!r}",
                                         where)
                its.append(name)
                if has_mod:
                    fixed[(lhs, "=~", name)] = value
            else:
                if has_mod:
                    latent_fixed[(lhs, name)] = (value, no)
                else:
                    covs.append((lhs, name, no))
    return _finish(factors, covs, fixed, latent_fixed)


def _finish(factors, covs, fixed, latent_fixed) -> ModelSpec:
    if not factors:
        raise AcapInputError("no factor is defined (use 'factor =~ item1 + item2 + ...')",
                             "model")
    for f, its in factors.items():
        if len(its) < 2:
            what = f"a single item ({its[0]!r})" if its else "no items"
            raise AcapInputError(f"has {what}; a factor needs at least two items",
                                 f"model, factor {f!r}")
    items = {i for its in factors.values() for i in its}
    for f in factors:
        if f in items:
            raise AcapInputError("a factor cannot have the same name as an item",
                                 f"model, factor {f!r}")
    pairs: list[tuple[str, str]] = []
    for a, b, no in covs:
        where = f"model, line {no}"
        for v in (a, b):
            if v not in items and v not in factors:
                raise AcapInputError(f"{v!r} in '{a} ~~ {b}' is neither an item nor a factor "
                                     "of the model", where)
        if a in factors or b in factors:
            if (a in factors) != (b in factors):
                raise AcapInputError(f"'{a} ~~ {b}' pairs a factor with an item", where)
            continue  # latent (co)variances are free already
        if a == b:
            continue  # residual variances are free already
        if (a, b) in pairs or (b, a) in pairs:
            raise AcapInputError(f"residual covariance '{a} ~~ {b}' listed twice", where)
        pairs.append((a, b))
    for (a, b), (value, no) in latent_fixed.items():
        where = f"model, line {no}"
        if a not in factors or b not in factors:
            raise AcapInputError(f"fixed values are read for latent (co)variances only "
                                 f"('{a} ~~ {b}')", where)
        fixed[(a, "~~", b)] = value
    return ModelSpec(factors={f: tuple(v) for f, v in factors.items()},
                     covariances=tuple(pairs), fixed=dict(fixed))
