"""One call from responses to every organisation's feedback, for ``acap report``, the demo and the app.

Scores and aggregates the responses (and the previous wave's, when given), then passes them
through the publication layer (:func:`acap.publish.publish_all`), which is the only source the
reports read.
"""

from __future__ import annotations

from collections.abc import Mapping

from acap.pipeline import score_and_aggregate
from acap.publish import publish_all, run_meta
from acap.report.batch import report_files

__all__ = ["feedback_run", "report_files"]


def _networks(networks, scored, seed: int):
    """NetworkFeedback per organisation: given as a mapping, or measured from a folder of collected files."""
    if networks is None or isinstance(networks, Mapping):
        return networks
    from acap.network.pipeline import read_network_files, run_networks

    return run_networks(*read_network_files(networks), scored, seed=seed).feedback


def feedback_run(responses, bank, *, invited=None, organisations=None, networks=None, previous=None,
                 wave: str | None = None, previous_wave: str | None = None, min_n: int = 5,
                 allow_small_n: bool = False, min_share: float = 2 / 3, checked=None, scored=None,
                 seed: int = 2024):
    """Published feedback for every organisation of a wave, and of the previous wave when given.

    Parameters
    ----------
    responses : path or DataFrame
        This wave's responses (see :func:`acap.scoring.validate_responses`).
    bank : Bank
    invited : Series, optional
        Organisation -> people invited.
    organisations : DataFrame, optional
        Organisation register indexed by organisation with a ``type`` column (peer groups).
    networks : mapping organisation -> NetworkFeedback or folder, optional
        A folder holds ties.csv, people.csv and outside_contacts.csv
        (:func:`acap.network.pipeline.read_network_files`).
    previous : path or DataFrame, optional
        The previous wave's responses, scored with the same bank and minimum n.
    wave, previous_wave : str, optional
        Names of the waves, printed in the reports.
    min_n, allow_small_n, min_share
        As :func:`acap.pipeline.score_and_aggregate`.
    checked : Responses, optional
        ``responses`` already validated (saves validating twice).
    scored : Scored, optional
        ``responses`` already scored and aggregated (then ``responses`` and the scoring options
        other than the previous wave's are not used).
    seed : int, default 2024
        Seed of the network pseudonyms and permutation tests.

    Returns
    -------
    (dict, dict or None)
        Organisation -> ``OrganisationFeedback`` for this wave, and for the previous one.
    """
    scored = scored if scored is not None else score_and_aggregate(checked if checked is not None else responses, bank, invited=invited, min_n=min_n,
                                 allow_small_n=allow_small_n, min_share=min_share)
    current = publish_all(scored, organisations=organisations, networks=_networks(networks, scored, seed),
                          meta=run_meta(scored, wave=wave))
    before = None
    if previous is not None:
        min_n = int(scored.organisations.min_n)
        prev = score_and_aggregate(previous, bank, min_n=min_n, allow_small_n=allow_small_n, min_share=min_share)
        before = publish_all(prev, organisations=organisations, meta=run_meta(prev, wave=previous_wave))
    return current, before
