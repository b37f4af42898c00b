"""The message bus: topic table, in-memory and MQTT buses, embedded broker, step barrier.

::

    from v2x.bus import Tap, open_bus, rsu_up

    async with open_bus("embedded") as bus, Tap(bus, "v2x/#") as tap:
        await bus.publish_many([(rsu_up("xq", "R1", "SPAT"), spat_bytes)])
        await tap.wait_for(1, timeout_s=10.0)
        messages = tap.drain()

``memory`` is deterministic and needs nothing; ``embedded`` runs an amqtt broker in-process;
``mqtt://[user:password@]host:port`` uses any MQTT 3.1.1 broker (Mosquitto, EMQX), and
``mqtts://[user:password@]host:port[?ca=PATH]`` the same over TLS (:mod:`v2x.bus._url`;
:func:`with_ca_file` adds the CA file to a URL).
"""

from ._base import Bus, BusMessage, Subscription
from ._broker import BrokerProcess, EmbeddedBroker
from ._isolation import payload_error
from ._memory import MemoryBus
from ._mqtt import MqttBus
from ._open import Tap, open_bus
from ._openv2x import openv2x_payload, rsi_from_openv2x
from ._pace import StepPublisher
from ._telemetry import Telemetry
from ._topics import (
    MSG_TYPES,
    OPENV2X_TOPICS,
    PROFILES,
    SIM_TOPICS,
    TOPICS,
    RunTopics,
    TopicInfo,
    TopicSpec,
    obu_up_bsm,
    parse_topic,
    rsu_down_rsi,
    rsu_up,
    sim_topic,
    topic_matches,
    topic_qos,
    validate_filter,
    validate_topic,
    zone_filter,
)
from ._url import PASSWORD_ENV, BrokerUrl, parse_broker_url, redact_bus_spec, with_ca_file
from ._uu import UuUplink

__all__ = [
    "MSG_TYPES",
    "OPENV2X_TOPICS",
    "PASSWORD_ENV",
    "PROFILES",
    "SIM_TOPICS",
    "TOPICS",
    "BrokerProcess",
    "BrokerUrl",
    "Bus",
    "BusMessage",
    "EmbeddedBroker",
    "MemoryBus",
    "MqttBus",
    "RunTopics",
    "StepPublisher",
    "Subscription",
    "Tap",
    "Telemetry",
    "TopicInfo",
    "TopicSpec",
    "UuUplink",
    "obu_up_bsm",
    "open_bus",
    "openv2x_payload",
    "parse_broker_url",
    "parse_topic",
    "payload_error",
    "redact_bus_spec",
    "rsi_from_openv2x",
    "rsu_down_rsi",
    "rsu_up",
    "sim_topic",
    "topic_matches",
    "topic_qos",
    "validate_filter",
    "validate_topic",
    "with_ca_file",
    "zone_filter",
]
