"""On-board applications that turn received V2X messages into driver warnings.

Day-1 applications of T/CSAE 53-2020 on one interface (:class:`Application`): each assesses,
vectorized over every host and received message of a window, what its hosts received; warnings
start and hold the same way for all (:class:`ThreatHold`). FCW also reads the RSM's roadside
perception with ``use_rsm`` (:class:`ForwardCollisionWarningRsm`). Applications are found by
name (:func:`make_app`, ``[applications.NAME]`` in a scenario; :func:`app_names` lists them):
``fcw``, ``ebw``, ``rlvw``, ``hlw``, ``slw``, ``icw``, ``lta``, ``vrucw``, ``glosa``, ``ivs``,
``tjw``, ``vnfp``, ``bsw``, ``lcw``, ``dnpw``, ``clw``, ``avw``, ``evw``.
"""

from v2x.apps._avw import AbnormalVehicleWarning, AvwConfig
from v2x.apps._base import (
    AppConfig,
    Application,
    AppWindow,
    Assessments,
    DecodedBsm,
    ReceivedLinks,
    app_config_model,
    app_names,
    config_problem,
    make_app,
    register_app,
)
from v2x.apps._bsw import BlindSpotWarning, BswConfig, BswResult, LaneChangeWarning, LcwConfig
from v2x.apps._clw import ClwConfig, ControlLossWarning, RemoteAheadResult
from v2x.apps._dnpw import DnpwConfig, DnpwResult, DoNotPassWarning
from v2x.apps._ebw import EbwConfig, EbwResult, EmergencyBrakeWarning
from v2x.apps._evw import EmergencyVehicleWarning, EvwConfig, EvwResult
from v2x.apps._fcw import (
    FcwConfig,
    FcwResult,
    ForwardCollisionWarning,
    ForwardCollisionWarningRsm,
)
from v2x.apps._glosa import GlosaConfig, GlosaResult, GreenLightOptimalSpeedAdvisory
from v2x.apps._heard_maps import HeardMaps, maps_of
from v2x.apps._hlw import HazardousLocationWarning, HlwConfig, HlwResult
from v2x.apps._hold import CriticalLinks, ThreatHold, most_critical
from v2x.apps._icw import IcwConfig, IcwResult, IntersectionCollisionWarning
from v2x.apps._ivs import InVehicleSignage, IvsConfig, IvsResult
from v2x.apps._lta import LeftTurnAssist, LtaConfig, LtaResult
from v2x.apps._mapmatch import LaneTable, MapCache, MatchResult, StopCircles, lane_table, match
from v2x.apps._reaction import DriverConfig, DriverReaction, Reactions
from v2x.apps._rlvw import RedLightViolationWarning, RlvwConfig, RlvwResult
from v2x.apps._rsi_view import (
    LinkItems,
    PathDistance,
    RsiItems,
    link_items,
    path_distance,
    rsi_items,
    speed_limit_kmh,
)
from v2x.apps._rsm_view import RsmLinks, RsmParticipants, rsm_links, rsm_participants
from v2x.apps._slw import SlwConfig, SlwResult, SpeedLimitWarning
from v2x.apps._spat_view import (
    SpatLookup,
    SpatView,
    node_key,
    received_spat_states,
    received_spat_view,
)
from v2x.apps._targets import RSM_TARGET_BASE, one_per_target
from v2x.apps._tjw import TjwConfig, TjwResult, TrafficJamWarning
from v2x.apps._vnfp import (
    PAYMENT_ANSWER_EVENT_TYPE,
    PAYMENT_ZONE_SIGN_TYPE,
    NearFieldPayment,
    VnfpConfig,
    payment_answer_text,
    read_payment_answer,
)
from v2x.apps._vrucw import VrucwConfig, VrucwResult, VulnerableRoadUserWarning

register_app("fcw", ForwardCollisionWarning.from_config, FcwConfig,
             title="Forward collision warning")
register_app("ebw", EmergencyBrakeWarning, EbwConfig, title="Emergency brake warning")
register_app("hlw", HazardousLocationWarning, HlwConfig,
             title="Hazardous location warning")
register_app("slw", SpeedLimitWarning, SlwConfig, title="Speed limit warning")
register_app("rlvw", RedLightViolationWarning, RlvwConfig,
             title="Red-light violation warning")
register_app("icw", IntersectionCollisionWarning, IcwConfig,
             title="Intersection collision warning")
register_app("lta", LeftTurnAssist, LtaConfig, title="Left turn assist")
register_app("vrucw", VulnerableRoadUserWarning, VrucwConfig,
             title="Vulnerable road user collision warning")
register_app("glosa", GreenLightOptimalSpeedAdvisory, GlosaConfig,
             title="Green light optimal speed advisory")
register_app("ivs", InVehicleSignage, IvsConfig, title="In-vehicle signage")
register_app("tjw", TrafficJamWarning, TjwConfig, title="Traffic jam warning")
register_app("vnfp", NearFieldPayment, VnfpConfig, title="Near-field payment")
# V2V applications on BSM signs (apps-v2v): blind spot / lane change, do not pass, control
# loss, abnormal vehicle, emergency vehicle
register_app("bsw", BlindSpotWarning, BswConfig, title="Blind spot warning")
register_app("lcw", LaneChangeWarning, LcwConfig, title="Lane change warning")
register_app("dnpw", DoNotPassWarning, DnpwConfig, title="Do not pass warning")
register_app("clw", ControlLossWarning, ClwConfig, title="Control loss warning")
register_app("avw", AbnormalVehicleWarning, AvwConfig, title="Abnormal vehicle warning")
register_app("evw", EmergencyVehicleWarning, EvwConfig, title="Emergency vehicle warning")

__all__ = [
    "AbnormalVehicleWarning",
    "AppConfig",
    "AppWindow",
    "Application",
    "Assessments",
    "AvwConfig",
    "BlindSpotWarning",
    "BswConfig",
    "BswResult",
    "ClwConfig",
    "ControlLossWarning",
    "CriticalLinks",
    "DecodedBsm",
    "DnpwConfig",
    "DnpwResult",
    "DoNotPassWarning",
    "DriverConfig",
    "DriverReaction",
    "EbwConfig",
    "EbwResult",
    "EmergencyBrakeWarning",
    "EmergencyVehicleWarning",
    "EvwConfig",
    "EvwResult",
    "FcwConfig",
    "FcwResult",
    "ForwardCollisionWarning",
    "ForwardCollisionWarningRsm",
    "GlosaConfig",
    "GlosaResult",
    "GreenLightOptimalSpeedAdvisory",
    "HazardousLocationWarning",
    "HeardMaps",
    "HlwConfig",
    "HlwResult",
    "IcwConfig",
    "IcwResult",
    "InVehicleSignage",
    "IntersectionCollisionWarning",
    "IvsConfig",
    "IvsResult",
    "LaneChangeWarning",
    "LaneTable",
    "LcwConfig",
    "LeftTurnAssist",
    "LinkItems",
    "LtaConfig",
    "LtaResult",
    "MapCache",
    "MatchResult",
    "NearFieldPayment",
    "PAYMENT_ANSWER_EVENT_TYPE",
    "PAYMENT_ZONE_SIGN_TYPE",
    "PathDistance",
    "RSM_TARGET_BASE",
    "Reactions",
    "ReceivedLinks",
    "RedLightViolationWarning",
    "RemoteAheadResult",
    "RlvwConfig",
    "RlvwResult",
    "RsiItems",
    "RsmLinks",
    "RsmParticipants",
    "SlwConfig",
    "SlwResult",
    "SpatLookup",
    "SpatView",
    "SpeedLimitWarning",
    "StopCircles",
    "ThreatHold",
    "TjwConfig",
    "TjwResult",
    "TrafficJamWarning",
    "VnfpConfig",
    "VrucwConfig",
    "VrucwResult",
    "VulnerableRoadUserWarning",
    "app_config_model",
    "app_names",
    "config_problem",
    "lane_table",
    "link_items",
    "make_app",
    "maps_of",
    "match",
    "most_critical",
    "node_key",
    "one_per_target",
    "path_distance",
    "payment_answer_text",
    "read_payment_answer",
    "received_spat_states",
    "received_spat_view",
    "register_app",
    "rsi_items",
    "rsm_links",
    "rsm_participants",
    "speed_limit_kmh",
]
