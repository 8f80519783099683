"""Item banks: the questionnaire's scales, items, response formats and background questions.

A bank is a YAML file (``items/acap-v1.yaml`` is the default) validated on load by a pydantic
schema. A malformed bank is refused with one :class:`~acap.errors.AcapInputError` naming the
file, the item (or scale) and the field.

Examples
--------
>>> from acap.items import load_bank
>>> bank = load_bank()
>>> bank.version
'1.0'
>>> bank.scale_items("acquisition")[:2]
['AQ01', 'AQ02']
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
import re

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from acap.errors import AcapInputError

ITEM_ID_PATTERN = r"^[A-Z][A-Z0-9_]{1,15}$"


def _acap_rules(info: ValidationInfo) -> bool:
    """Whether the limits of acap's own bank apply (its ID pattern, scale lengths, required fields).

    A researcher's custom bank (any ``bank:`` name other than ``acap``) is validated without
    them: any column names as item IDs, scales of two or more items, no family or ACAP side,
    no don't-know code, no organisation and role questions.
    """
    return (info.context or {}).get("acap", True)


def _check_id(v: str, info: ValidationInfo) -> str:
    if _acap_rules(info):
        if not re.match(ITEM_ID_PATTERN, v):
            raise ValueError(f"String should match pattern '{ITEM_ID_PATTERN}'")
    elif not v.strip():
        raise ValueError("an item ID must not be blank")
    return v


def default_bank_path() -> Path:
    """Path of the default item bank: ``$ACAP_BANK`` if set, else ``items/acap-v1.yaml``."""
    env = os.environ.get("ACAP_BANK")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent
    for candidate in (here / "banks" / "acap-v1.yaml", here.parent / "items" / "acap-v1.yaml"):
        if candidate.exists():
            return candidate
    raise AcapInputError("the default item bank items/acap-v1.yaml was not found; pass a bank file")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DontKnow(_Strict):
    code: int
    label: str


class ResponseScale(_Strict):
    points: int = Field(ge=2, le=11)
    labels: dict[int, str]
    dont_know: DontKnow | None = None

    @model_validator(mode="after")
    def _labels_cover_points(self, info: ValidationInfo):
        if sorted(self.labels) != list(range(1, self.points + 1)):
            raise ValueError(f"labels must be given for exactly 1..{self.points}")
        if self.dont_know is None:
            if _acap_rules(info):
                raise ValueError("field dont_know is required (acap's response scales have a don't-know code)")
            return self
        if 1 <= self.dont_know.code <= self.points:
            raise ValueError("the don't-know code must lie outside the scale points")
        return self


class Role(_Strict):
    id: str
    label: str
    group: str


class Background(_Strict):
    id: str
    label: str
    type: Literal["text", "role", "number"]
    required: bool = False
    min: float | None = None
    max: float | None = None


class Item(_Strict):
    id: str
    text: str = Field(min_length=1)
    reverse: bool = False

    _id = field_validator("id")(_check_id)

    @field_validator("text")
    @classmethod
    def _text_long_enough(cls, v: str, info: ValidationInfo) -> str:
        if _acap_rules(info) and len(v) < 10:
            raise ValueError("String should have at least 10 characters")
        return v


class Scale(_Strict):
    id: str
    label: str
    family: Literal["process", "coordination"] | None = None
    acap: Literal["potential", "realised"] | None = None
    about: str = ""
    response_scale: str = "agree7"
    items: list[Item] = Field(min_length=2)

    @model_validator(mode="after")
    def _process_scales_have_acap_side(self, info: ValidationInfo):
        if not _acap_rules(info):
            return self
        if self.family is None:
            raise ValueError("field family is required in acap's bank (process or coordination)")
        if not 3 <= len(self.items) <= 5:
            raise ValueError("a scale of acap's bank has 3-5 items")
        if self.family == "process" and self.acap is None:
            raise ValueError("a process scale must say whether it is potential or realised ACAP (field acap)")
        if self.family == "coordination" and not 3 <= len(self.items) <= 4:
            raise ValueError("a co-ordination capability has 3-4 items")
        return self


class Source(_Strict):
    id: str
    label: str
    gathered: str
    used: str

    _ids = field_validator("gathered", "used")(_check_id)


class SourceBlock(_Strict):
    response_scale: str = "extent7"
    gathered_stem: str
    used_stem: str
    items: list[Source] = Field(min_length=1)


class Conduit(_Strict):
    id: str
    label: str

    _id = field_validator("id")(_check_id)


class ConduitBlock(_Strict):
    optional: bool = True
    response_scale: str = "extent7"
    stem: str
    items: list[Conduit] = Field(min_length=1)


class Bank(_Strict):
    """A validated item bank.

    Attributes beyond the YAML fields are derived: :attr:`items` (all answerable items by ID
    with their scale, response scale and reverse flag), :meth:`scale_items`,
    :attr:`reverse_items`, :attr:`potential_scales`, :attr:`realised_scales`.
    """

    bank: str
    version: str
    title: str
    referent: Literal["organisation"] = "organisation"
    response_scales: dict[str, ResponseScale]
    roles: list[Role] = Field(default_factory=list)
    background: list[Background] = Field(default_factory=list)
    scales: list[Scale] = Field(min_length=1)
    sources: SourceBlock | None = None
    conduits: ConduitBlock | None = None
    model_config = ConfigDict(extra="forbid", frozen=True, ignored_types=(cached_property,))

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, v):
        return str(v) if isinstance(v, (int, float)) else v

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo):
        strict = _acap_rules(info)
        seen: dict[str, str] = {}

        def claim(item_id: str, where: str):
            if item_id in seen:
                raise ValueError(f"item ID {item_id} is used twice ({seen[item_id]} and {where})")
            seen[item_id] = where

        scale_ids = set()
        for s in self.scales:
            if s.id in scale_ids:
                raise ValueError(f"scale ID {s.id} is used twice")
            scale_ids.add(s.id)
            if s.response_scale not in self.response_scales:
                raise ValueError(f"scale {s.id}: unknown response_scale {s.response_scale!r}")
            for it in s.items:
                claim(it.id, f"scale {s.id}")
        for block, name in ((self.sources, "sources"), (self.conduits, "conduits")):
            if block is not None and block.response_scale not in self.response_scales:
                raise ValueError(f"{name}: unknown response_scale {block.response_scale!r}")
        if self.sources:
            for src in self.sources.items:
                claim(src.gathered, f"source {src.id}")
                claim(src.used, f"source {src.id}")
        if self.conduits:
            for c in self.conduits.items:
                claim(c.id, "conduits")
        role_ids = [r.id for r in self.roles]
        if len(set(role_ids)) != len(role_ids):
            raise ValueError("role IDs must be unique")
        bg = {b.id for b in self.background}
        if strict and not self.roles:
            raise ValueError("roles: acap's bank lists at least one role")
        if strict and not {"organisation", "role"} <= bg:
            raise ValueError("background must include organisation and role")
        for b in self.background:
            if strict and b.id in ("organisation", "role") and not b.required:
                raise ValueError(f"background {b.id} must be required: results are organised by it")
        clash = bg & set(seen)
        if clash:
            raise ValueError(f"background IDs clash with item IDs: {sorted(clash)}")
        return self

    def __repr__(self) -> str:
        return f"Bank({self.bank} {self.version}: {len(self.scales)} scales, {len(self.items)} items)"

    # ---- derived views -------------------------------------------------------------
    @cached_property
    def items(self) -> dict[str, dict]:
        """Every answerable item: ID -> {kind, scale, source, response_scale, reverse, text}."""
        out: dict[str, dict] = {}
        for s in self.scales:
            for it in s.items:
                out[it.id] = dict(kind="scale", scale=s.id, source=None,
                                  response_scale=s.response_scale, reverse=it.reverse, text=it.text)
        if self.sources:
            for src in self.sources.items:
                for side, iid, stem in (("gathered", src.gathered, self.sources.gathered_stem),
                                        ("used", src.used, self.sources.used_stem)):
                    out[iid] = dict(kind=f"source_{side}", scale=None, source=src.id,
                                    response_scale=self.sources.response_scale, reverse=False,
                                    text=f"{stem} {src.label}")
        if self.conduits:
            for c in self.conduits.items:
                out[c.id] = dict(kind="conduit", scale=None, source=None,
                                 response_scale=self.conduits.response_scale, reverse=False,
                                 text=f"{self.conduits.stem} {c.label}")
        return out

    @property
    def item_ids(self) -> list[str]:
        return list(self.items)

    @property
    def scale_ids(self) -> list[str]:
        return [s.id for s in self.scales]

    def scale(self, scale_id: str) -> Scale:
        for s in self.scales:
            if s.id == scale_id:
                return s
        raise KeyError(scale_id)

    def scale_items(self, scale_id: str) -> list[str]:
        """Item IDs of one scale, in bank order."""
        return [it.id for it in self.scale(scale_id).items]

    @property
    def scale_map(self) -> dict[str, list[str]]:
        """{scale ID: [item IDs]} — the bank's measurement model, as CFA takes it."""
        return {s.id: [it.id for it in s.items] for s in self.scales}

    @property
    def reverse_items(self) -> list[str]:
        return [i for i, meta in self.items.items() if meta["reverse"]]

    @property
    def potential_scales(self) -> list[str]:
        return [s.id for s in self.scales if s.acap == "potential"]

    @property
    def realised_scales(self) -> list[str]:
        return [s.id for s in self.scales if s.acap == "realised"]

    @property
    def role_ids(self) -> list[str]:
        return [r.id for r in self.roles]

    @property
    def role_groups(self) -> dict[str, str]:
        return {r.id: r.group for r in self.roles}

    def labels(self) -> dict[str, str]:
        """Human labels for scales, sources and conduits by ID."""
        out = {s.id: s.label for s in self.scales}
        if self.sources:
            out.update({s.id: s.label for s in self.sources.items})
        if self.conduits:
            out.update({c.id: c.label for c in self.conduits.items})
        return out


def _where(loc: tuple, raw: dict) -> str:
    """Turn a pydantic error location into 'scale X, item Y, field Z' using IDs from the raw YAML."""
    parts: list[str] = []
    node = raw
    i = 0
    while i < len(loc):
        key = loc[i]
        child = node[key] if isinstance(node, (dict, list)) and _has(node, key) else None
        if isinstance(key, int) and isinstance(child, dict) and "id" in child:
            kind = {"scales": "scale", "items": "item", "roles": "role", "background": "background"}.get(
                str(loc[i - 1]) if i else "", "entry")
            parts[-1:] = [f"{kind} {child['id']}"]
        elif isinstance(key, int):
            parts.append(f"[{key}]")
        else:
            parts.append(str(key))
        node = child
        i += 1
    if parts and not parts[-1].startswith(("scale ", "item ", "role ", "background ", "entry ")):
        parts[-1] = f"field {parts[-1]}"
    return ", ".join(parts)


def _has(node, key) -> bool:
    if isinstance(node, dict):
        return key in node
    return isinstance(key, int) and 0 <= key < len(node)


def load_bank(path: str | os.PathLike | None = None) -> Bank:
    """Load and validate an item bank.

    Parameters
    ----------
    path : path-like, optional
        YAML bank file; the default bank (``items/acap-v1.yaml``) when omitted.

    Returns
    -------
    Bank
        The validated, immutable bank.

    Raises
    ------
    AcapInputError
        The file is missing, is not YAML, or breaks the schema; the message names the file,
        the item or scale, and the field.

    Examples
    --------
    >>> bank = load_bank()
    >>> len(bank.scales), bank.potential_scales
    (11, ['recognising_value', 'acquisition', 'assimilation'])
    """
    p = Path(path) if path is not None else default_bank_path()
    try:
        # libyaml's parser when PyYAML has it (a tenth of the time; the same safe loader)
        raw = yaml.load(p.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except FileNotFoundError:
        raise AcapInputError("no such file", where=str(p)) from None
    except UnicodeDecodeError:
        raise AcapInputError("not UTF-8 text; save the bank as UTF-8", where=str(p)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark else ""
        raise AcapInputError(f"not valid YAML{line}", where=str(p)) from None
    if not isinstance(raw, dict):
        raise AcapInputError("an item bank must be a YAML mapping", where=str(p))
    try:
        # acap's own limits apply to acap's bank only (see _acap_rules)
        return Bank.model_validate(raw, context={"acap": raw.get("bank") == "acap"})
    except ValidationError as exc:
        err = exc.errors()[0]
        where = _where(tuple(err["loc"]), raw)
        msg = err["msg"].removeprefix("Value error, ")
        more = len(exc.errors()) - 1
        tail = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
        raise AcapInputError(f"{where}: {msg}{tail}" if where else f"{msg}{tail}", where=str(p)) from None
