"""Link advice networks to ACAP scores.

Three levels of question, three kinds of test:

* dyadic ("are ties likelier between people with similar scores, or the same role?"):
  :func:`qap` (Krackhardt's quadratic assignment test of a matrix correlation) and
  :func:`mrqap` (multiple regression QAP with Dekker, Krackhardt & Snijders' semi-partialling),
  with the helpers :func:`adjacency_matrix`, :func:`abs_difference`, :func:`same_attribute`,
  :func:`sender_matrix` and :func:`receiver_matrix` to build the matrices;
* individual ("do people with higher scores hold more central positions?"):
  :func:`link_individual` (correlations and a fixed-effects slope, tested by permuting node
  labels within organisations);
* organisation ("do organisations with higher ACAP have denser boards?"):
  :func:`link_organisation` (descriptive and rank correlations, exact permutation p-values,
  with a plain caution when there are few organisations).

QAP and MRQAP follow ``sna::qaptest`` and ``sna::netlm`` (Butts): the diagonal is excluded,
ties are directed, and a p-value is the share of permuted statistics at least as extreme as
the observed one (the observed statistic is not added to the reference set). Permuted
statistics are compared with the observed one with a small relative tolerance, so that a
permutation giving the same statistic in exact arithmetic counts as "at least as extreme"
whatever the rounding.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats as _st

from acap._blas import blas_threads
from acap.errors import AcapInputError

__all__ = [
    "QAPResult",
    "MRQAPResult",
    "IndividualLink",
    "OrganisationLink",
    "qap",
    "mrqap",
    "adjacency_matrix",
    "abs_difference",
    "same_attribute",
    "sender_matrix",
    "receiver_matrix",
    "link_individual",
    "link_organisation",
    "link_dyadic",
    "link_networks",
    "NetworkLinks",
]

# Relative tolerance for "permuted statistic >= observed": rounding differences of a few ulp
# between algebraically equal statistics must not change the count.
_TOL = 1e-9
# Permutations evaluated per vectorised batch (bounds memory at batch * n_dyads doubles).
_BATCH = 256
# Below this many organisations an organisation-level correlation is descriptive only.
_FEW_ORGS = 10
# Exact enumeration of permutations up to this many organisations (8! = 40,320).
_EXACT_MAX = 8


# --------------------------------------------------------------------------------------
# results


@dataclass(frozen=True)
class QAPResult:
    """Result of :func:`qap`.

    Attributes
    ----------
    statistic : float
        Observed statistic (Pearson correlation of the off-diagonal cells for ``"cor"``).
    p_greater, p_less, p_two_sided : float
        Share of permuted statistics >= observed, <= observed, and with absolute value >=
        the observed absolute value (each within a relative tolerance of 1e-9).
    n_perm : int
    seed : int or None
    stat : str
        Name of the statistic.
    n_dyads : int
        Number of off-diagonal cells used for the observed statistic.
    dist : numpy.ndarray
        The permuted statistics.
    """

    statistic: float
    p_greater: float
    p_less: float
    p_two_sided: float
    n_perm: int
    seed: int | None
    stat: str
    n_dyads: int
    dist: np.ndarray = field(repr=False)

    @property
    def table(self) -> pd.DataFrame:
        """The result as a one-row DataFrame indexed by the statistic's name."""
        return pd.DataFrame(
            {"estimate": [self.statistic], "p_greater": [self.p_greater],
             "p_less": [self.p_less], "p_two_sided": [self.p_two_sided]},
            index=pd.Index([self.stat], name="term"),
        )


@dataclass(frozen=True)
class MRQAPResult:
    """Result of :func:`mrqap`.

    Attributes
    ----------
    table : pandas.DataFrame
        Indexed by term (``"intercept"`` then one name per x matrix) with columns
        ``estimate`` (OLS coefficient), ``std_error`` and ``t`` (classical, for reference
        only: dyads are not independent), and the permutation p-values ``p_greater``,
        ``p_less`` and ``p_two_sided`` of the test statistic.
    r_squared, adj_r_squared : float
    n_dyads : int
        Off-diagonal cells used (cells with a missing value in any matrix are dropped).
    n_perm : int
    seed : int or None
    method : str
        ``"dekker"`` (semi-partialling, sna's ``nullhyp="qapspp"``) or ``"y"`` (permute the
        dependent matrix, ``nullhyp="qapy"``).
    test_statistic : str
        ``"t"`` (sna's default ``"t-value"``) or ``"beta"``.
    dist : pandas.DataFrame
        Permuted test statistics, one column per term.
    """

    table: pd.DataFrame
    r_squared: float
    adj_r_squared: float
    n_dyads: int
    n_perm: int
    seed: int | None
    method: str
    test_statistic: str
    dist: pd.DataFrame = field(repr=False)


@dataclass(frozen=True)
class IndividualLink:
    """Result of :func:`link_individual`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (scale, measure), indexed by that pair, with columns ``n``,
        ``n_organisations``, ``pearson_r``, ``p_pearson``, ``spearman_rho``,
        ``p_spearman``, ``r_within`` (correlation after removing organisation means),
        ``slope`` (fixed-effects OLS slope of the measure on the scale), ``std_error``
        (classical, for reference), ``p_slope`` (permutation, two-sided).
    n_perm : int
    seed : int or None
    """

    table: pd.DataFrame
    n_perm: int
    seed: int | None


@dataclass(frozen=True)
class OrganisationLink:
    """Result of :func:`link_organisation`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (scale, measure) with ``n``, ``pearson_r``, ``p_pearson``,
        ``spearman_rho``, ``p_spearman``, ``p_method`` (``"exact"`` when every permutation
        of the organisations was enumerated, else ``"monte carlo"``) and ``caution``
        (empty when nothing to say).
    n_perm : int
    seed : int or None
    """

    table: pd.DataFrame
    n_perm: int
    seed: int | None


# --------------------------------------------------------------------------------------
# dyadic helpers


def _as_series(values, what: str) -> pd.Series:
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, Mapping):
        return pd.Series(values)
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise AcapInputError(f"expected a one-dimensional set of values, got shape {arr.shape}", what)
    return pd.Series(arr)


def adjacency_matrix(edges: pd.DataFrame, nodes=None, weight: str | None = None,
                     missing_rows=None) -> pd.DataFrame:
    """Square adjacency matrix from an edge list.

    Parameters
    ----------
    edges : pandas.DataFrame
        Columns ``source`` and ``target`` (and ``weight`` when ``weight`` is given).
    nodes : sequence or pandas.DataFrame, optional
        Node ids in the order wanted (a DataFrame's ``id`` column, or its index when it has
        no ``id`` column). Isolates are kept. Default: ids in the edges, sorted.
    weight : str, optional
        Column holding tie values (e.g. ``"weight"`` for frequency 1-5). Default: binary.
    missing_rows : sequence, optional
        Ids whose out-ties are missing (non-respondents): their rows become NaN, so QAP and
        MRQAP drop those cells instead of reading them as "no tie".

    Returns
    -------
    pandas.DataFrame
        n x n, index and columns the node ids, ``[i, j]`` the tie i -> j; diagonal 0.

    Examples
    --------
    >>> import pandas as pd
    >>> e = pd.DataFrame({"source": ["a", "b"], "target": ["b", "c"]})
    >>> adjacency_matrix(e).loc["a", "b"]
    np.float64(1.0)
    """
    for col in ("source", "target") + ((weight,) if weight else ()):
        if col not in edges.columns:
            raise AcapInputError(f"edges have no column {col!r}", "edges")
    if nodes is None:
        ids = sorted(pd.unique(pd.concat([edges["source"], edges["target"]])).tolist())
    elif isinstance(nodes, pd.DataFrame):
        ids = list(nodes["id"]) if "id" in nodes.columns else list(nodes.index)
    else:
        ids = list(nodes)
    pos = {v: k for k, v in enumerate(ids)}
    if len(pos) != len(ids):
        raise AcapInputError("node ids are not unique", "nodes")
    unknown = set(edges["source"]).union(edges["target"]) - set(pos)
    if unknown:
        raise AcapInputError(f"edges name nodes not in the node list: {sorted(map(str, unknown))[:5]}",
                             "edges")
    m = np.zeros((len(ids), len(ids)))
    src = edges["source"].map(pos).to_numpy(int)
    tgt = edges["target"].map(pos).to_numpy(int)
    val = edges[weight].to_numpy(float) if weight else np.ones(len(edges))
    m[src, tgt] = val
    if missing_rows is not None:
        rows = [pos[v] for v in missing_rows if v in pos]
        m[rows, :] = np.nan
    np.fill_diagonal(m, 0.0)
    return pd.DataFrame(m, index=ids, columns=ids)


def abs_difference(values) -> pd.DataFrame:
    """Dyadic absolute difference ``|v_i - v_j|`` of a node attribute (e.g. an ACAP score).

    A negative MRQAP coefficient on this matrix means ties are likelier between people
    with similar scores (homophily).

    Parameters
    ----------
    values : pandas.Series, mapping or array
        One numeric value per node; a Series' index gives the node ids.

    Returns
    -------
    pandas.DataFrame
        n x n, indexed both ways by node id.

    Examples
    --------
    >>> abs_difference(pd.Series([1.0, 3.0], index=["a", "b"])).loc["a", "b"]
    np.float64(2.0)
    """
    s = _as_series(values, "values").astype(float)
    v = s.to_numpy()
    return pd.DataFrame(np.abs(v[:, None] - v[None, :]), index=s.index, columns=s.index)


def same_attribute(values) -> pd.DataFrame:
    """Dyadic indicator ``1`` when nodes i and j share a category (e.g. the same role).

    Missing categories give NaN cells.

    Examples
    --------
    >>> same_attribute(pd.Series(["gp", "gp", "lay"], index=list("abc"))).loc["a", "b"]
    np.float64(1.0)
    """
    s = _as_series(values, "values")
    v = s.to_numpy(dtype=object)
    miss = pd.isna(s).to_numpy()
    eq = (v[:, None] == v[None, :]).astype(float)
    eq[miss, :] = np.nan
    eq[:, miss] = np.nan
    return pd.DataFrame(eq, index=s.index, columns=s.index)


def sender_matrix(values) -> pd.DataFrame:
    """Dyadic matrix ``x[i, j] = v_i`` (an attribute of the advice seeker).

    Examples
    --------
    >>> sender_matrix(pd.Series([1.0, 2.0], index=["a", "b"])).loc["b", "a"]
    np.float64(2.0)
    """
    s = _as_series(values, "values").astype(float)
    v = s.to_numpy()
    return pd.DataFrame(np.repeat(v[:, None], len(v), axis=1), index=s.index, columns=s.index)


def receiver_matrix(values) -> pd.DataFrame:
    """Dyadic matrix ``x[i, j] = v_j`` (an attribute of the person asked for advice).

    Examples
    --------
    >>> receiver_matrix(pd.Series([1.0, 2.0], index=["a", "b"])).loc["a", "b"]
    np.float64(2.0)
    """
    s = _as_series(values, "values").astype(float)
    v = s.to_numpy()
    return pd.DataFrame(np.repeat(v[None, :], len(v), axis=0), index=s.index, columns=s.index)


# --------------------------------------------------------------------------------------
# QAP machinery


def _square(m, what: str, labels=None) -> tuple[np.ndarray, list | None]:
    """A float n x n array from an array or DataFrame, aligned to ``labels`` when given."""
    if isinstance(m, pd.DataFrame):
        if list(m.index) != list(m.columns):
            if set(m.index) != set(m.columns):
                raise AcapInputError("row and column labels differ", what)
            m = m.loc[:, list(m.index)]
        if labels is not None:
            if set(m.index) != set(labels):
                raise AcapInputError("node labels differ from those of the first matrix", what)
            m = m.loc[labels, labels]
        lab = list(m.index)
        arr = m.to_numpy(dtype=float)
    else:
        arr = np.asarray(m, dtype=float)
        lab = None
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise AcapInputError(f"expected a square matrix, got shape {arr.shape}", what)
    if arr.shape[0] < 3:
        raise AcapInputError("need at least 3 nodes", what)
    return arr, lab


def _offdiag_index(n: int) -> tuple[np.ndarray, np.ndarray]:
    # Column-major order, as sna's gvectorize (the order only matters for rounding).
    j, i = np.divmod(np.arange(n * n), n)
    keep = i != j
    return i[keep], j[keep]


def _perms(rng: np.random.Generator, n: int, b: int) -> np.ndarray:
    return rng.permuted(np.tile(np.arange(n), (b, 1)), axis=1)


def _pvalues(dist: np.ndarray, obs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """sna's p-values (share of the reference set), compared with a small tolerance."""
    obs = np.asarray(obs, dtype=float)
    tol = _TOL * np.maximum(1.0, np.abs(obs))
    with np.errstate(invalid="ignore"):
        pg = np.mean(dist >= obs - tol, axis=0)
        pl = np.mean(dist <= obs + tol, axis=0)
        p2 = np.mean(np.abs(dist) >= np.abs(obs) - tol, axis=0)
    return pg, pl, p2


def _check_perm(n_perm) -> int:
    if not isinstance(n_perm, (int, np.integer)) or n_perm < 1:
        raise AcapInputError(f"n_perm must be a positive integer, got {n_perm!r}", "n_perm")
    return int(n_perm)


def _cor(a: np.ndarray, b: np.ndarray) -> float:
    ok = ~(np.isnan(a) | np.isnan(b))
    a, b = a[ok], b[ok]
    if a.size < 2:
        return float("nan")
    a = a - a.mean()
    b = b - b.mean()
    den = math.sqrt(float(a @ a) * float(b @ b))
    return float(a @ b) / den if den > 0 else float("nan")


def qap(x, y, n_perm: int = 1000, seed: int | None = None,
        stat: str | Callable[[np.ndarray, np.ndarray], float] = "cor") -> QAPResult:
    """Quadratic assignment procedure test of the association between two networks.

    The statistic is computed on the off-diagonal cells of two n x n matrices; its
    reference distribution comes from relabelling the nodes of ``y`` (permuting its rows
    and columns together), as ``sna::qaptest(list(x, y), gcor, g1=1, g2=2)``.

    Parameters
    ----------
    x, y : array-like or pandas.DataFrame
        Square matrices of the same order (DataFrames are aligned by label). NaN cells
        are dropped pairwise (as ``gcor``'s ``use="complete.obs"``).
    n_perm : int
        Number of random permutations.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.
    stat : ``"cor"`` or callable
        ``"cor"``: Pearson correlation of the off-diagonal cells. A callable receives the
        two off-diagonal vectors (x, permuted y) and returns a float.

    Returns
    -------
    QAPResult

    References
    ----------
    Krackhardt D. QAP partialling as a test of spuriousness. Soc Networks 1987;9:171-86.
    Krackhardt D. Predicting with networks: nonparametric multiple regression analysis of
    dyadic data. Soc Networks 1988;10:359-81.
    Butts CT. sna: Tools for Social Network Analysis (``qaptest``, ``gcor``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(1)
    >>> x = rng.random((10, 10)); y = x + rng.random((10, 10))
    >>> r = qap(x, y, n_perm=200, seed=1)
    >>> bool(r.p_greater < 0.05)
    True
    """
    n_perm = _check_perm(n_perm)
    xa, lab = _square(x, "x")
    ya, _ = _square(y, "y", labels=lab if isinstance(y, pd.DataFrame) and lab else None)
    if ya.shape != xa.shape:
        raise AcapInputError(f"x is {xa.shape} but y is {ya.shape}", "y")
    n = xa.shape[0]
    ri, ci = _offdiag_index(n)
    xv, yv = xa[ri, ci], ya[ri, ci]
    rng = np.random.default_rng(seed)
    dist = np.empty(n_perm)
    if callable(stat):
        name = getattr(stat, "__name__", "stat")
        obs = float(stat(xv, yv))
        for b in range(n_perm):
            p = rng.permutation(n)
            dist[b] = stat(xv, ya[p[ri], p[ci]])
        n_dyads = xv.size
    elif stat == "cor":
        name = "cor"
        obs = _cor(xv, yv)
        n_dyads = int(np.sum(~(np.isnan(xv) | np.isnan(yv))))
        if np.isnan(xv).any() or np.isnan(ya[ri, ci]).any():
            # The complete cases change with each permutation: recompute in full.
            for b in range(n_perm):
                p = rng.permutation(n)
                dist[b] = _cor(xv, ya[p[ri], p[ci]])
        else:
            # Permuting rows and columns together maps off-diagonal cells onto themselves, so
            # the mean and spread of y's cells are fixed: only the cross product changes.
            xc = xv - xv.mean()
            yc_full = ya - yv.mean()
            den = math.sqrt(float(xc @ xc) * float(np.sum((yv - yv.mean()) ** 2)))
            with blas_threads(1):
                for start in range(0, n_perm, _BATCH):
                    b = min(_BATCH, n_perm - start)
                    P = _perms(rng, n, b)
                    Y = yc_full[P[:, ri], P[:, ci]]  # b x n_dyads
                    dist[start:start + b] = (Y @ xc) / den if den > 0 else np.nan
    else:
        raise AcapInputError(f"unknown statistic {stat!r}; use 'cor' or a callable", "stat")
    pg, pl, p2 = _pvalues(dist, obs)
    return QAPResult(statistic=obs, p_greater=float(pg), p_less=float(pl), p_two_sided=float(p2),
                     n_perm=n_perm, seed=seed, stat=name, n_dyads=int(n_dyads), dist=dist)


def _lstsq(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, int]:
    """OLS by QR: coefficients, diag of (X'X)^-1, residual SS, rank."""
    q, r = np.linalg.qr(X)
    rank = int(np.sum(np.abs(np.diag(r)) > 1e-7 * np.abs(r).max()))
    if rank < X.shape[1]:
        raise AcapInputError("the x matrices are collinear (with the intercept or each other)", "xs")
    coef = np.linalg.solve(r, q.T @ y)
    rinv = np.linalg.solve(r, np.eye(r.shape[0]))
    dinv = np.sum(rinv ** 2, axis=1)
    res = y - X @ coef
    return coef, dinv, float(res @ res), rank


def mrqap(y, xs, n_perm: int = 1000, seed: int | None = None, method: str = "dekker",
          test_statistic: str = "t", intercept: bool = True) -> MRQAPResult:
    """Multiple regression QAP (network regression) of one network on several.

    Ordinary least squares of the off-diagonal cells of ``y`` on an intercept and the
    off-diagonal cells of each matrix in ``xs`` (directed, diagonal excluded), as
    ``sna::netlm(y, xs, mode="digraph", diag=FALSE)``. Coefficients are exact OLS; the
    p-values come from permutations.

    Parameters
    ----------
    y : array-like or pandas.DataFrame
        n x n dependent network (e.g. advice ties, binary or frequency). NaN cells (e.g. rows
        of non-respondents) are dropped.
    xs : mapping of name to matrix, or sequence of matrices
        Predictor networks of the same order. Unnamed matrices are called ``x1``, ``x2``...
        They must have no missing off-diagonal cells.
    n_perm : int
        Number of permutations per term.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.
    method : {"dekker", "y"}
        ``"dekker"``: for each term, residualise its matrix on the other predictors and
        permute those residuals (Dekker, Krackhardt & Snijders 2007; sna ``"qapspp"``).
        ``"y"``: permute the dependent matrix (sna ``"qapy"``).
    test_statistic : {"t", "beta"}
        Statistic whose permutation distribution gives the p-values; ``"t"`` is robust to
        collinearity among predictors (Dekker et al.).
    intercept : bool
        Include an intercept term (default, as sna).

    Returns
    -------
    MRQAPResult

    References
    ----------
    Krackhardt D. Predicting with networks: nonparametric multiple regression analysis of
    dyadic data. Soc Networks 1988;10:359-81.
    Dekker D, Krackhardt D, Snijders TAB. Sensitivity of MRQAP tests to collinearity and
    autocorrelation conditions. Psychometrika 2007;72:563-81.
    Butts CT. sna: Tools for Social Network Analysis (``netlm``).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(2)
    >>> x1 = rng.random((12, 12)); x2 = rng.random((12, 12))
    >>> y = 2 * x1 + rng.normal(size=(12, 12))
    >>> fit = mrqap(y, {"x1": x1, "x2": x2}, n_perm=200, seed=1)
    >>> list(fit.table.index)
    ['intercept', 'x1', 'x2']
    >>> bool(fit.table.loc["x1", "p_greater"] < 0.05)
    True
    """
    n_perm = _check_perm(n_perm)
    if method not in ("dekker", "y"):
        raise AcapInputError(f"unknown method {method!r}; use 'dekker' or 'y'", "method")
    if test_statistic not in ("t", "beta"):
        raise AcapInputError(f"unknown test statistic {test_statistic!r}; use 't' or 'beta'",
                             "test_statistic")
    ya, lab = _square(y, "y")
    if isinstance(xs, Mapping):
        names, mats = [str(k) for k in xs], list(xs.values())
    elif isinstance(xs, (pd.DataFrame, np.ndarray)):
        names, mats = ["x1"], [xs]
    else:
        mats = list(xs)
        names = [f"x{k + 1}" for k in range(len(mats))]
    if not mats:
        raise AcapInputError("give at least one x matrix", "xs")
    n = ya.shape[0]
    ri, ci = _offdiag_index(n)
    cols = []
    for name, m in zip(names, mats):
        a, _ = _square(m, f"xs[{name}]",
                       labels=lab if isinstance(m, pd.DataFrame) and lab else None)
        if a.shape != ya.shape:
            raise AcapInputError(f"shape {a.shape} differs from y's {ya.shape}", f"xs[{name}]")
        if np.isnan(a[ri, ci]).any():
            raise AcapInputError("missing off-diagonal cells in a predictor matrix", f"xs[{name}]")
        cols.append(a)
    if intercept:
        names = ["intercept"] + names
        cols = [np.ones((n, n))] + cols
    if len(set(names)) != len(names):
        raise AcapInputError("term names must be unique (and not 'intercept')", "xs")
    full = np.stack(cols)                 # k x n x n
    X = full[:, ri, ci].T                 # N x k
    yv = ya[ri, ci]
    obs = ~np.isnan(yv)
    Xo, yo = X[obs], yv[obs]
    N, k = Xo.shape
    if N <= k:
        raise AcapInputError(f"only {N} usable dyads for {k} terms", "y")
    coef, dinv, rss, _ = _lstsq(Xo, yo)
    df = N - k
    se = np.sqrt(dinv * rss / df)
    tval = coef / se
    tss = float(np.sum((yo - yo.mean()) ** 2)) if intercept else float(yo @ yo)
    r2 = 1 - rss / tss if tss > 0 else float("nan")
    adj = 1 - (1 - r2) * (N - intercept) / df if tss > 0 else float("nan")
    observed = tval if test_statistic == "t" else coef
    rng = np.random.default_rng(seed)
    dist = np.empty((n_perm, k))
    with blas_threads(1):
        if method == "dekker":
            for t in range(k):
                dist[:, t] = _dekker_term(X, obs, yo, t, ri, ci, n, n_perm, rng,
                                          test_statistic)
        else:
            dist[:] = _permute_y(ya, X, obs, ri, ci, n, n_perm, rng, test_statistic, yv)
    pg, pl, p2 = _pvalues(dist, observed)
    table = pd.DataFrame(
        {"estimate": coef, "std_error": se, "t": tval,
         "p_greater": pg, "p_less": pl, "p_two_sided": p2},
        index=pd.Index(names, name="term"),
    )
    return MRQAPResult(table=table, r_squared=float(r2), adj_r_squared=float(adj), n_dyads=int(N),
                       n_perm=n_perm, seed=seed, method=method, test_statistic=test_statistic,
                       dist=pd.DataFrame(dist, columns=names))


def _dekker_term(X, obs, yo, t, ri, ci, n, n_perm, rng, test_statistic) -> np.ndarray:
    """Permutation distribution of term ``t`` under semi-partialling.

    The term's matrix is replaced by its residual on the other predictors (fitted over all
    dyads, as sna), whose rows and columns are permuted; y is regressed on the other
    predictors plus the permuted residual. By Frisch-Waugh-Lovell only cross products with
    the permuted residual change between permutations, so they are computed in batches.
    """
    k = X.shape[1]
    others = [j for j in range(k) if j != t]
    Z_all = X[:, others]
    if others:
        zc, *_ = np.linalg.lstsq(Z_all, X[:, t], rcond=None)
        e = X[:, t] - Z_all @ zc
    else:
        e = X[:, t].copy()
    E = np.zeros((n, n))
    E[ri, ci] = e
    Z = Z_all[obs]
    N = Z.shape[0]
    if others:
        ZtZi = np.linalg.inv(Z.T @ Z)
        ey = yo - Z @ (ZtZi @ (Z.T @ yo))
    else:
        ZtZi = np.zeros((0, 0))
        ey = yo
    eyy = float(ey @ ey)
    ro, co = ri[obs], ci[obs]
    out = np.empty(n_perm)
    for start in range(0, n_perm, _BATCH):
        b = min(_BATCH, n_perm - start)
        P = _perms(rng, n, b)
        W = E[P[:, ro], P[:, co]].T        # N x b: permuted residual, observed dyads
        ww = np.einsum("ij,ij->j", W, W)
        zw = Z.T @ W                        # (k-1) x b
        wmw = ww - np.einsum("ib,ij,jb->b", zw, ZtZi, zw) if others else ww
        wey = ey @ W
        with np.errstate(divide="ignore", invalid="ignore"):
            beta = wey / wmw
            if test_statistic == "beta":
                out[start:start + b] = beta
            else:
                rss = eyy - wey * beta
                out[start:start + b] = beta / np.sqrt(rss / (N - k) / wmw)
    return out


def _permute_y(ya, X, obs, ri, ci, n, n_perm, rng, test_statistic, yv) -> np.ndarray:
    """Permutation distribution of every term when y's nodes are relabelled."""
    k = X.shape[1]
    out = np.empty((n_perm, k))
    if not obs.all():
        # Missing cells move with the permutation, so the design changes: fit each in full.
        for b in range(n_perm):
            p = rng.permutation(n)
            yp = ya[p[ri], p[ci]]
            ok = ~np.isnan(yp)
            coef, dinv, rss, _ = _lstsq(X[ok], yp[ok])
            se = np.sqrt(dinv * rss / (ok.sum() - k))
            out[b] = coef / se if test_statistic == "t" else coef
        return out
    Xo = X
    XtXi = np.linalg.inv(Xo.T @ Xo)
    dinv = np.diag(XtXi)
    N = Xo.shape[0]
    yy = float(yv @ yv)  # invariant: permutation maps off-diagonal cells onto themselves
    for start in range(0, n_perm, _BATCH):
        b = min(_BATCH, n_perm - start)
        P = _perms(rng, n, b)
        Y = ya[P[:, ri], P[:, ci]].T        # N x b
        XtY = Xo.T @ Y
        B = XtXi @ XtY                      # k x b
        rss = yy - np.einsum("kb,kb->b", B, XtY)
        if test_statistic == "beta":
            out[start:start + b] = B.T
        else:
            se = np.sqrt(np.outer(rss / (N - k), dinv))
            out[start:start + b] = B.T / se
    return out


# --------------------------------------------------------------------------------------
# individual level


def _numeric_columns(df: pd.DataFrame, exclude=()) -> list[str]:
    return [c for c in df.columns
            if c not in exclude and pd.api.types.is_numeric_dtype(df[c])
            and not pd.api.types.is_bool_dtype(df[c])]


def _index_by_id(df: pd.DataFrame, what: str) -> pd.DataFrame:
    if not isinstance(df, pd.DataFrame):
        raise AcapInputError("expected a DataFrame", what)
    for col in ("respondent_id", "id"):
        if col in df.columns:
            df = df.set_index(col)
            break
    if not df.index.is_unique:
        raise AcapInputError("ids are not unique", what)
    return df


def _within_perm_indices(codes: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Permutations within groups: row b maps position -> source position.

    ``keys`` (b x m) are uniform draws; sorting ``code + key`` orders members of each group
    at random while keeping groups in place, so each row is a uniform within-group
    permutation of the m positions.
    """
    order0 = np.argsort(codes, kind="stable")
    P = np.argsort(codes[None, :] + keys, axis=1)
    out = np.empty_like(P)
    out[:, order0] = P
    return out


def link_individual(scores: pd.DataFrame, metrics: pd.DataFrame, organisation=None,
                    scales: Sequence[str] | None = None, measures: Sequence[str] | None = None,
                    n_perm: int = 2000, seed: int | None = None) -> IndividualLink:
    """Individual ACAP scale scores against network position, within organisations.

    For each (scale, measure) pair, over the people with both values: the pooled Pearson
    and Spearman correlations, the within-organisation correlation, and the OLS slope of
    the measure on the scale with organisation fixed effects (within transformation:
    both variables centred on their organisation means). Inference relabels nodes within
    organisations: the scale scores are permuted among members of the same organisation,
    which keeps each organisation's network and score distribution and breaks only the
    link between a person's score and their position.

    Parameters
    ----------
    scores : pandas.DataFrame
        One row per respondent (index, or a ``respondent_id`` / ``id`` column), numeric
        scale columns.
    metrics : pandas.DataFrame
        One row per node (same ids), numeric network measures (e.g. the output of
        :func:`acap.network.node_metrics`).
    organisation : str or pandas.Series, optional
        Organisation of each person: a column of ``scores`` or ``metrics``, or a Series
        indexed by id. Default: everyone in one organisation (no fixed effects).
    scales, measures : sequence of str, optional
        Columns to use. Default: every numeric column (except the organisation's).
    n_perm : int
        Number of within-organisation permutations.
    seed : int, optional
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    IndividualLink
        p-values are two-sided, ``(1 + #{|T*| >= |T|}) / (1 + n_perm)``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> ids = [f"r{i}" for i in range(40)]
    >>> s = pd.DataFrame({"acquisition": rng.normal(size=40)}, index=ids)
    >>> m = pd.DataFrame({"in_degree": 3 + 2 * s["acquisition"] + rng.normal(size=40),
    ...                   "org": ["A"] * 20 + ["B"] * 20}, index=ids)
    >>> res = link_individual(s, m, organisation="org", n_perm=500, seed=1)
    >>> bool(res.table.loc[("acquisition", "in_degree"), "p_slope"] < 0.01)
    True
    """
    n_perm = _check_perm(n_perm)
    scores = _index_by_id(scores, "scores")
    metrics = _index_by_id(metrics, "metrics")
    org_col = None
    if organisation is None:
        org = pd.Series("all", index=scores.index)
    elif isinstance(organisation, str):
        if organisation in scores.columns:
            org = scores[organisation]
        elif organisation in metrics.columns:
            org = metrics[organisation]
        else:
            raise AcapInputError(f"no column {organisation!r} in scores or metrics", "organisation")
        org_col = organisation
    elif isinstance(organisation, pd.Series):
        org = organisation
    else:
        raise AcapInputError("give a column name or a Series indexed by id", "organisation")
    scales = list(scales) if scales is not None else _numeric_columns(scores, (org_col,))
    measures = list(measures) if measures is not None else _numeric_columns(metrics, (org_col,))
    for c in scales:
        if c not in scores.columns:
            raise AcapInputError(f"no scale column {c!r}", "scores")
    for c in measures:
        if c not in metrics.columns:
            raise AcapInputError(f"no measure column {c!r}", "metrics")
    if not scales or not measures:
        raise AcapInputError("no numeric scale or measure columns to link", "scores/metrics")
    ids = scores.index.intersection(metrics.index)
    ids = ids[org.reindex(ids).notna().to_numpy()]
    if len(ids) < 3:
        raise AcapInputError(f"only {len(ids)} people have both scores and network metrics",
                             "scores/metrics")
    org_codes_all = pd.factorize(org.reindex(ids))[0].astype(float)
    S = scores.loc[ids, scales].to_numpy(dtype=float)
    M = metrics.loc[ids, measures].to_numpy(dtype=float)
    rng = np.random.default_rng(seed)
    keys_all = rng.random((n_perm, len(ids)))
    rows = []
    with blas_threads(1):
        for a, scale in enumerate(scales):
            for b, measure in enumerate(measures):
                ok = ~(np.isnan(S[:, a]) | np.isnan(M[:, b]))
                rows.append(_link_pair(scale, measure, S[ok, a], M[ok, b], org_codes_all[ok],
                                       keys_all[:, ok]))
    table = pd.DataFrame(rows).set_index(["scale", "measure"])
    return IndividualLink(table=table, n_perm=n_perm, seed=seed)


def _link_pair(scale, measure, s, x, codes, keys) -> dict:
    m = s.size
    codes = pd.factorize(codes)[0]
    g = int(codes.max()) + 1 if m else 0
    row = {"scale": scale, "measure": measure, "n": m, "n_organisations": g}
    nan = float("nan")
    if m < 3 or np.ptp(s) == 0 or np.ptp(x) == 0:
        return row | dict(pearson_r=nan, p_pearson=nan, spearman_rho=nan, p_spearman=nan,
                          r_within=nan, slope=nan, std_error=nan, p_slope=nan)
    P = _within_perm_indices(codes.astype(float), keys)   # b x m
    counts = np.bincount(codes, minlength=g)

    def centre_within(v):
        return v - (np.bincount(codes, v, g) / counts)[codes]

    sc, xc = s - s.mean(), x - x.mean()
    rs, rx = _st.rankdata(s), _st.rankdata(x)
    rsc, rxc = rs - rs.mean(), rx - rx.mean()
    sw, xw = centre_within(s), centre_within(x)
    # Within-organisation permutation keeps each organisation's score mean, so the
    # permuted within-centred scores are the within-centred scores permuted.
    den_p = math.sqrt(float(sc @ sc) * float(xc @ xc))
    den_s = math.sqrt(float(rsc @ rsc) * float(rxc @ rxc))
    sww, xww = float(sw @ sw), float(xw @ xw)
    r = float(sc @ xc) / den_p
    rho = float(rsc @ rxc) / den_s
    if sww > 0:
        slope = float(sw @ xw) / sww
        df = m - g - 1
        res = xw - slope * sw
        se = math.sqrt(float(res @ res) / df / sww) if df > 0 else nan
        r_w = float(sw @ xw) / math.sqrt(sww * xww) if xww > 0 else nan
        d_slope = (sw[P] @ xw) / sww
    else:
        slope = se = r_w = nan
        d_slope = np.full(P.shape[0], nan)
    d_r = (sc[P] @ xc) / den_p
    d_rho = (rsc[P] @ rxc) / den_s

    def p2(d, o):
        if np.isnan(o):
            return nan
        hits = np.sum(np.abs(d) >= abs(o) - _TOL * max(1.0, abs(o)))
        return float((1 + hits) / (1 + d.size))

    return row | dict(pearson_r=r, p_pearson=p2(d_r, r), spearman_rho=rho,
                      p_spearman=p2(d_rho, rho), r_within=r_w, slope=slope, std_error=se,
                      p_slope=p2(d_slope, slope))


# --------------------------------------------------------------------------------------
# organisation level


def _org_frame(obj, what: str) -> pd.DataFrame:
    if isinstance(obj, pd.DataFrame):
        df = obj
        if "organisation" in df.columns:
            df = df.set_index("organisation")
        return df
    if isinstance(obj, Mapping):
        rows = {}
        for k, v in obj.items():
            if isinstance(v, Mapping):
                rows[k] = {kk: vv for kk, vv in v.items()
                           if isinstance(vv, (int, float, np.number)) and not isinstance(vv, bool)}
            else:
                raise AcapInputError(f"organisation {k!r}: expected a mapping of measures", what)
        return pd.DataFrame.from_dict(rows, orient="index")
    raise AcapInputError("expected a DataFrame indexed by organisation or a mapping", what)


def link_organisation(org_scores, org_network, scales: Sequence[str] | None = None,
                      measures: Sequence[str] | None = None, n_perm: int = 10000,
                      seed: int | None = None) -> OrganisationLink:
    """Organisation ACAP means against whole-network measures (density, centralization).

    For each (scale, measure) pair over the organisations with both values: Pearson r and
    Spearman rho with permutation p-values (two-sided). With up to 8 organisations every
    permutation is enumerated (exact p-value); beyond, ``n_perm`` random permutations.
    With fewer than 10 organisations the ``caution`` column says the result is descriptive
    only: a correlation over a handful of boards cannot carry inference.

    Parameters
    ----------
    org_scores : pandas.DataFrame
        Indexed by organisation (or an ``organisation`` column), numeric ACAP scale means.
    org_network : pandas.DataFrame or mapping
        Indexed by organisation, numeric network measures; or a mapping organisation ->
        mapping of measures (e.g. each organisation's :func:`acap.network.summary`).
    scales, measures : sequence of str, optional
        Default: every numeric column; for measures, those of ``density``,
        ``reciprocity``, ``degree_centralization``, ``betweenness_centralization`` present
        (all numeric columns when none of them is).
    n_perm : int
        Random permutations when there are more than 8 organisations.
    seed : int, optional

    Returns
    -------
    OrganisationLink

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"acap": [4.1, 4.8, 5.2, 3.9, 5.6]}, index=list("ABCDE"))
    >>> net = pd.DataFrame({"density": [0.5, 0.6, 0.7, 0.45, 0.72]}, index=list("ABCDE"))
    >>> res = link_organisation(s, net)
    >>> res.table.loc[("acap", "density"), "p_method"]
    'exact'
    """
    n_perm = _check_perm(n_perm)
    S = _org_frame(org_scores, "org_scores")
    N = _org_frame(org_network, "org_network")
    scales = list(scales) if scales is not None else _numeric_columns(S)
    if measures is None:
        default = ["density", "reciprocity", "degree_centralization", "betweenness_centralization"]
        measures = [c for c in default if c in N.columns] or _numeric_columns(N)
    for c in scales:
        if c not in S.columns:
            raise AcapInputError(f"no scale column {c!r}", "org_scores")
    for c in measures:
        if c not in N.columns:
            raise AcapInputError(f"no measure column {c!r}", "org_network")
    orgs = S.index.intersection(N.index)
    rng = np.random.default_rng(seed)
    rows = []
    with blas_threads(1):
        for scale in scales:
            for measure in measures:
                s = S.loc[orgs, scale].to_numpy(dtype=float)
                x = N.loc[orgs, measure].to_numpy(dtype=float)
                ok = ~(np.isnan(s) | np.isnan(x))
                rows.append(_org_pair(scale, measure, s[ok], x[ok], n_perm, rng))
    table = pd.DataFrame(rows).set_index(["scale", "measure"])
    return OrganisationLink(table=table, n_perm=n_perm, seed=seed)


def _org_pair(scale, measure, s, x, n_perm, rng) -> dict:
    n = s.size
    nan = float("nan")
    row = {"scale": scale, "measure": measure, "n": n}
    if n < 3 or np.ptp(s) == 0 or np.ptp(x) == 0:
        why = "fewer than 3 organisations" if n < 3 else "no variation"
        return row | dict(pearson_r=nan, p_pearson=nan, spearman_rho=nan, p_spearman=nan,
                          p_method="", caution=f"{why}: not computed")
    if n <= _EXACT_MAX:
        P = np.array(list(itertools.permutations(range(n))))
        method = "exact"
    else:
        P = _perms(rng, n, n_perm)
        method = "monte carlo"
    sc, xc = s - s.mean(), x - x.mean()
    rs, rx = _st.rankdata(s), _st.rankdata(x)
    rsc, rxc = rs - rs.mean(), rx - rx.mean()
    den_p = math.sqrt(float(sc @ sc) * float(xc @ xc))
    den_s = math.sqrt(float(rsc @ rsc) * float(rxc @ rxc))
    r = float(sc @ xc) / den_p
    rho = float(rsc @ rxc) / den_s
    d_r = (sc[P] @ xc) / den_p
    d_rho = (rsc[P] @ rxc) / den_s

    def p2(d, o):
        hits = np.sum(np.abs(d) >= abs(o) - _TOL * max(1.0, abs(o)))
        # Exact: the identity is among the enumerated permutations; Monte Carlo: add it.
        return float(hits / d.size) if method == "exact" else float((1 + hits) / (1 + d.size))

    caution = f"few organisations (n = {n} < {_FEW_ORGS}): descriptive only" if n < _FEW_ORGS else ""
    return row | dict(pearson_r=r, p_pearson=p2(d_r, r), spearman_rho=rho,
                      p_spearman=p2(d_rho, rho), p_method=method, caution=caution)


# --------------------------------------------------------------------------------------
# one-call helpers


def link_dyadic(edges: pd.DataFrame, nodes: pd.DataFrame, score: str | Sequence[str],
                group: str | None = "role", n_perm: int = 1000, seed: int | None = None,
                method: str = "dekker", weighted: bool = False) -> MRQAPResult:
    """MRQAP of one organisation's advice ties on score similarity, shared role and score.

    Terms: for each score, ``<score>_absdiff`` (``|s_i - s_j|``: a negative coefficient
    means ties are likelier between people with similar scores), ``<score>_sender`` (do
    high scorers seek more advice?) and ``<score>_receiver`` (are high scorers sought
    more?); with ``group``, ``same_<group>`` (are ties likelier within a role?).
    Non-respondents' rows are missing, not zero; people without a score are left out.

    Parameters
    ----------
    edges : pandas.DataFrame
        ``source, target[, weight]`` of one organisation.
    nodes : pandas.DataFrame
        ``id``, the score column(s), the group column, optionally ``responded``.
    score : str or sequence of str
        Score column(s) of ``nodes``.
    group : str, optional
        Categorical column for the same-group term.
    n_perm, seed, method
        As :func:`mrqap`.
    weighted : bool
        Use the frequency (``weight``) as the dependent value instead of 0/1.

    Returns
    -------
    MRQAPResult

    Examples
    --------
    >>> import pandas as pd
    >>> nodes = pd.DataFrame({"id": list("abcdef"), "acap": [1, 2, 3, 4, 5, 6.0],
    ...                       "role": list("xxyyxy")})
    >>> edges = pd.DataFrame({"source": list("abcdef"), "target": list("bcdefa")})
    >>> fit = link_dyadic(edges, nodes, "acap", n_perm=100, seed=1)
    >>> list(fit.table.index)
    ['intercept', 'acap_absdiff', 'acap_sender', 'acap_receiver', 'same_role']
    """
    scores = [score] if isinstance(score, str) else list(score)
    if "id" not in nodes.columns:
        raise AcapInputError("no 'id' column", "nodes")
    need = scores + ([group] if group else [])
    missing = [c for c in need if c not in nodes.columns]
    if missing:
        raise AcapInputError(f"missing column(s) {missing}", "nodes")
    nd = nodes.dropna(subset=scores)
    if group:
        nd = nd.dropna(subset=[group])
    ids = list(nd["id"])
    keep = set(ids)
    e = edges[edges["source"].isin(keep) & edges["target"].isin(keep)]
    nonresp = (list(nd.loc[~nd["responded"].astype(bool), "id"]) if "responded" in nd.columns
               else None)
    y = adjacency_matrix(e, nodes=ids, weight="weight" if weighted else None,
                         missing_rows=nonresp)
    xs = {}
    for s in scores:
        v = pd.Series(nd[s].to_numpy(float), index=ids)
        xs[f"{s}_absdiff"] = abs_difference(v)
        xs[f"{s}_sender"] = sender_matrix(v)
        xs[f"{s}_receiver"] = receiver_matrix(v)
    if group:
        xs[f"same_{group}"] = same_attribute(pd.Series(nd[group].to_numpy(object), index=ids))
    # A term constant over the off-diagonal cells (one role only, equal scores) is collinear
    # with the intercept: leave it out rather than fail.
    off = ~np.eye(len(ids), dtype=bool)
    xs = {k: v for k, v in xs.items() if np.ptp(v.to_numpy()[off]) > 0}
    if not xs:
        raise AcapInputError("no dyadic term varies (all scores and groups equal)", "nodes")
    return mrqap(y, xs, n_perm=n_perm, seed=seed, method=method)


@dataclass(frozen=True)
class NetworkLinks:
    """Result of :func:`link_networks`.

    Attributes
    ----------
    individual : pandas.DataFrame
        :func:`link_individual`'s table.
    organisation : pandas.DataFrame
        :func:`link_organisation`'s table (empty when no organisation scores were given).
    dyadic : pandas.DataFrame
        MRQAP tables of :func:`link_dyadic`, stacked with an ``organisation`` index level.
    metrics : pandas.DataFrame
        Node metrics of every organisation (with an ``organisation`` column).
    org_network : pandas.DataFrame
        Numeric network summary per organisation.
    n_perm : int
    seed : int or None
    dyadic_skipped : dict
        Organisation -> why no dyadic model was fitted (too few people, no varying term).
    """

    individual: pd.DataFrame
    organisation: pd.DataFrame
    dyadic: pd.DataFrame
    metrics: pd.DataFrame
    org_network: pd.DataFrame
    n_perm: int
    seed: int | None
    dyadic_skipped: dict = field(default_factory=dict)


def link_networks(edges: pd.DataFrame, nodes: pd.DataFrame, scores: pd.DataFrame,
                  org_scores: pd.DataFrame | None = None, *, scales: Sequence[str] | None = None,
                  dyadic_score: str | None = None, group: str | None = "role",
                  measures: Sequence[str] = ("in_degree", "out_degree", "in_strength",
                                             "betweenness_norm", "constraint"),
                  n_perm: int = 1000, seed: int | None = None) -> NetworkLinks:
    """Every linking analysis of several organisations in one call.

    Computes node metrics and the network summary of each organisation
    (:func:`acap.network.node_metrics`, :func:`acap.network.summary`), then
    :func:`link_individual` (within-organisation permutations), :func:`link_organisation`
    (when ``org_scores`` is given) and, per organisation, :func:`link_dyadic` (when
    ``dyadic_score`` is given).

    Parameters
    ----------
    edges : pandas.DataFrame
        ``organisation, source, target, weight`` (as :func:`simulate_networks` returns).
    nodes : pandas.DataFrame
        ``organisation, id`` and attributes (``responded``, ``board``, ``role`` ...).
    scores : pandas.DataFrame
        Individual scale scores (index or ``respondent_id`` / ``id`` column = node id).
    org_scores : pandas.DataFrame, optional
        Organisation scale means indexed by organisation.
    scales : sequence of str, optional
        Scale columns (default: numeric columns of ``scores``).
    dyadic_score : str, optional
        Column of ``scores`` for the dyadic MRQAP.
    group : str, optional
        Column of ``nodes`` for the same-group term.
    measures : sequence of str
        Node metrics linked to the scales.
    n_perm : int
    seed : int, optional

    Returns
    -------
    NetworkLinks

    Examples
    --------
    >>> from acap.network.simulate import simulate_networks
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> people = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(60)],
    ...                        "organisation": np.repeat(["A", "B", "C"], 20),
    ...                        "role": rng.choice(["board_chair", "analyst", "finance"], 60),
    ...                        "acap": rng.normal(size=60)})
    >>> sim = simulate_networks(people, seed=1, score="acap", score_effect=0.5)
    >>> res = link_networks(sim.edges, sim.nodes, people[["respondent_id", "acap"]],
    ...                     dyadic_score="acap", n_perm=200, seed=1)
    >>> res.individual.index.names
    FrozenList(['scale', 'measure'])
    """
    from acap.network.metrics import node_metrics, summary

    for col in ("organisation", "source", "target"):
        if col not in edges.columns:
            raise AcapInputError(f"no column {col!r}", "edges")
    for col in ("organisation", "id"):
        if col not in nodes.columns:
            raise AcapInputError(f"no column {col!r}", "nodes")
    sc = _index_by_id(scores, "scores")
    mets, nets, dyads, skipped = [], {}, {}, {}
    by_org = dict(tuple(edges.groupby("organisation", sort=False)))
    for k, (org, nd) in enumerate(nodes.groupby("organisation", sort=False)):
        e = by_org.get(org, edges.iloc[:0])[["source", "target"] +
                                            (["weight"] if "weight" in edges.columns else [])]
        nd = nd.drop(columns="organisation").reset_index(drop=True)
        m = node_metrics(e, nd)
        m["organisation"] = org
        mets.append(m)
        s = summary(e, nd)
        nets[org] = {key: v for key, v in s.items()
                     if isinstance(v, (int, float, np.number)) and not isinstance(v, bool)}
        if dyadic_score is not None:
            nd2 = nd.merge(sc[[dyadic_score]], left_on="id", right_index=True, how="left",
                           suffixes=("_node", ""))
            if nd2[dyadic_score].notna().sum() >= 6:
                try:
                    fit = link_dyadic(e, nd2, dyadic_score, group=group, n_perm=n_perm,
                                      seed=None if seed is None else seed + k)
                except AcapInputError as err:
                    skipped[org] = str(err)
                else:
                    dyads[org] = fit.table
            else:
                skipped[org] = "fewer than 6 people with a score"
    metrics = pd.concat(mets)
    missing = [c for c in measures if c not in metrics.columns]
    if missing:
        raise AcapInputError(f"no node metric(s) {missing}", "measures")
    ind = link_individual(sc, metrics, organisation="organisation", scales=scales,
                          measures=list(measures), n_perm=n_perm, seed=seed)
    org_network = pd.DataFrame.from_dict(nets, orient="index")
    org_network.index.name = "organisation"
    if org_scores is not None:
        orgt = link_organisation(org_scores, org_network, n_perm=max(n_perm, 2000), seed=seed).table
    else:
        orgt = pd.DataFrame()
    dyadic = (pd.concat(dyads, names=["organisation"]) if dyads else pd.DataFrame())
    return NetworkLinks(individual=ind.table, organisation=orgt, dyadic=dyadic, metrics=metrics,
                        org_network=org_network, n_perm=n_perm, seed=seed,
                        dyadic_skipped=skipped)
