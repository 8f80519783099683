"""What every page shares: the store, the item bank, settings, and the results cache.

The app is thin: answers live in the store (``acap.store``), results come from the
publication layer (``acap.publish``); nothing here computes a statistic or decides what may
be shown.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from typing import Any

import streamlit as st

from acap import online
from acap.items import Bank, load_bank

#: Tests (and the bench) put a store here instead of opening the configured one.
STORE_OVERRIDE: Any = None
#: Largest upload accepted, in megabytes (also set as server.maxUploadSize by ``acap serve``).
UPLOAD_LIMIT_MB = online.UPLOAD_LIMIT_MB

# threadpoolctl's limits and BLAS threads are process-wide: one heavy analysis at a time.
ANALYSIS_LOCK = threading.Lock()
_RESULTS: OrderedDict = OrderedDict()
_RESULTS_MAX = 16


@st.cache_resource(show_spinner=False)
def _open_store(url: str | None, data_dir: str | None):
    from acap.store import open_store

    return open_store(url=url, data_dir=data_dir)


def store():
    """The store this app process uses (one per process, shared by every session)."""
    if STORE_OVERRIDE is not None:
        return STORE_OVERRIDE
    return _open_store(os.environ.get("ACAP_DATABASE_URL") or None, os.environ.get("ACAP_DATA_DIR") or None)


@st.cache_resource(show_spinner=False)
def _bank(path: str | None) -> Bank:
    return load_bank(path)


def bank(version: str | None = None) -> Bank:
    """The item bank (``ACAP_BANK`` or the default); item text and labels come only from it."""
    return _bank(os.environ.get("ACAP_BANK") or None)


def base_url() -> str:
    """The address respondents open; personal links are ``<base>/?code=...``."""
    return os.environ.get("ACAP_BASE_URL", "http://localhost:8501").rstrip("/")


def wave_results(wave_id: int):
    """Every organisation's feedback for a wave, cached by wave and its last submission.

    A new submission or upload changes ``last_submission`` and so the key (a purge empties it);
    old entries fall out after the newest few. The computation runs behind :data:`ANALYSIS_LOCK`.
    """
    s = store()
    key = (id(s), wave_id, s.last_submission(wave_id))
    hit = _RESULTS.get(key)
    if hit is not None:
        _RESULTS.move_to_end(key)
        return hit
    with ANALYSIS_LOCK:
        hit = _RESULTS.get(key)
        if hit is None:
            hit = _compute(s, wave_id)
            _RESULTS[key] = hit
            while len(_RESULTS) > _RESULTS_MAX:
                _RESULTS.popitem(last=False)
    return hit


def _compute(s, wave_id: int):
    return online.wave_feedback(s, wave_id, bank())


def clear_results() -> None:
    _RESULTS.clear()
