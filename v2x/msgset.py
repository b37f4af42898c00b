"""The Day-1 message set's names, in one place (light: no codec is imported).

:data:`MSG_TYPES` is the order every table, KPI and code in this project uses (a message
type's code is its index here); :data:`FRAME_CHOICES` is the order of the alternatives of the
``MessageFrame`` CHOICE of T/CSAE 53-2020 (what a UPER frame's first bits select).

:data:`PROFILES` are the conformance profiles: the public ASN.1 module sets of the message set
disagree on a few bounds, and UPER writes a list's length in as many bits as its bound needs, so
equipment built on one set cannot decode the other's frames. The codec compiles one variant of
our modules per profile (:func:`v2x.messages.compiled_spec`); encode, decode and ``v2x check``
take ``profile=`` / ``--profile``, :data:`DEFAULT_PROFILE` when not given.
"""

from __future__ import annotations

from dataclasses import dataclass

from v2x.errors import ConfigError

__all__ = ["DEFAULT_PROFILE", "FRAME_CHOICES", "MSG_TYPES", "PROFILES", "Profile",
           "resolve_profile"]

#: the message types, in the project's order: BSM, MAP, SPAT, RSI, RSM
MSG_TYPES: tuple[str, ...] = ("BSM", "MAP", "SPAT", "RSI", "RSM")

#: the root alternatives of MessageFrame, in the order of the ASN.1 CHOICE (T/CSAE 53-2020)
FRAME_CHOICES: tuple[str, ...] = ("BSM", "MAP", "RSM", "SPAT", "RSI")


@dataclass(frozen=True)
class Profile:
    """A conformance profile: the project's ASN.1 modules with the bounds one family of
    public module sets (and the equipment built on it) uses.

    Attributes:
        name: the profile's name (``profile=`` of the codec, ``v2x check --profile``).
        connects_to_max: upper bound of ``ConnectsToList ::= SEQUENCE (SIZE (1..n)) OF
            Connection`` (MAP lane connections; UPER writes the count in 3 bits for 8, 4 bits
            for 16, so a MAP lane with any connection differs on the wire).
        summary: one line for help texts and error messages.
        sources: the public modules that define these bounds (repository, path, line).
    """

    name: str
    connects_to_max: int
    summary: str
    sources: tuple[str, ...]


#: the conformance profiles by name (see :class:`Profile`)
PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile(
        "connects-8", 8,
        "ConnectsToList 1..8, the IMT-2020 'new four-cross' (xinsikua) interoperability set",
        ("wangxso/VSS message/asn/day2/Map.asn:142 (Day 1 + Day 2 set)",
         "wangxso/VSS message/asn/source_New_4K/MapLane.asn:44",
         "xuanxuanblingbling/OBU V2X/Protocol_Stack/Stack_Lib/MsgLayer/MsgLayerVN4/"
         "MsgFrameVN4/VN4-asn/MapLane.asn:44 (a vendor OBU stack, its new-four-cross build)")),
    Profile(
        "connects-16", 16,
        "ConnectsToList 1..16, the Release20190724 module set",
        ("zyjohn0822/asn1-uper-v2x sources/v2x/Release20190724/MapLane.asn:44",
         "wangxso/VSS message/asn/LTEV.asn:641",
         "xuanxuanblingbling/OBU V2X/Protocol_Stack/Stack_Lib/MsgLayer/MsgLayerV4/MsgFrameV4/"
         "V4-asn/MapLane.asn:44, whose wjv4_uper_Df.h:70 notes that the standard says 1..16 "
         "while the new-four-cross set uses 1..8")),
)}

#: the profile used when none is given: ``connects-8``, the bound of the new-four-cross
#: interoperability set whose application IDs the testbed already uses (STANDARDS.md section
#: 2) and of the Day-2 module set (wangxso/VSS ``message/asn/day2``); a vendor stack that knows
#: both bounds ships 1..8 "to agree with the new four-cross" (xuanxuanblingbling/OBU
#: ``wjv4_uper_Df.h:70``). It is also the bound every recording so far was made with.
DEFAULT_PROFILE = "connects-8"


def resolve_profile(name: str | None) -> Profile:
    """The :class:`Profile` called ``name``; :data:`DEFAULT_PROFILE` for ``None``.

    Raises:
        ConfigError: an unknown name (key ``profile``; the message lists the known ones).
    """
    if name is None:
        name = DEFAULT_PROFILE
    got = PROFILES.get(name) if isinstance(name, str) else None
    if got is None:
        raise ConfigError(f"unknown conformance profile {name!r}; known: "
                          f"{', '.join(PROFILES)}", key="profile", value=name)
    return got
