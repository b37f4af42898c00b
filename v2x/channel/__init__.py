"""The PC5 radio channel: who hears which message, and when.

A step of the simulation finds the candidate links with :func:`find_pairs` (dense blocks or a
grid of cells, within the model's :attr:`ChannelModel.max_range_m`; the loop through a
:class:`NeighbourList` kept across steps, the same links) and asks a
:class:`ChannelModel` for a :class:`Reception` per link, vectorized over all links. Models are
picked by name from a scenario's ``[channel]`` table with :func:`make_channel`:

- ``ideal``: every link within ``range_m`` received after a constant ``latency``;
- ``tr37885-urban`` / ``tr37885-highway``: 3GPP TR 37.885 V2V path loss, LOS probability,
  shadowing, a link budget, a logistic SNR -> reception curve and a Mode 4 latency model
  (:mod:`v2x.channel._tr37885` documents every formula and what is not modelled);
- ``mode4``: LTE-V2X sidelink Mode 4 with sensing-based semi-persistent scheduling,
  co-channel interference, half duplex, a PER-vs-SINR table, CBR and congestion control
  (:mod:`v2x.channel._mode4`); it keeps scheduling state across steps
  (:class:`ScheduledChannel`), so the loop calls its ``evaluate_scheduled``.
"""

from ._base import ChannelModel, Reception
from ._ideal import IdealChannel
from ._mode4 import ChannelLoad, ChannelLoadStats, Mode4Channel, ScheduledChannel
from ._pairs import LinkBatch, NeighbourList, find_pairs
from ._pathloss import (
    PATH_LOSS_MODELS,
    free_space_path_loss_db,
    path_loss_db,
    winner_b1_breakpoint_m,
    winner_b1_path_loss_db,
)
from ._per import PER_TABLES, PerTable
from ._registry import available_channels, make_channel
from ._tr37885 import (
    Tr37885Channel,
    noise_floor_dbm,
    reception_probability,
    tr37885_los_probability,
    tr37885_path_loss_db,
)

__all__ = [
    "ChannelLoad",
    "ChannelLoadStats",
    "ChannelModel",
    "IdealChannel",
    "LinkBatch",
    "Mode4Channel",
    "NeighbourList",
    "PATH_LOSS_MODELS",
    "PER_TABLES",
    "PerTable",
    "Reception",
    "ScheduledChannel",
    "Tr37885Channel",
    "available_channels",
    "find_pairs",
    "free_space_path_loss_db",
    "make_channel",
    "noise_floor_dbm",
    "path_loss_db",
    "reception_probability",
    "tr37885_los_probability",
    "tr37885_path_loss_db",
    "winner_b1_breakpoint_m",
    "winner_b1_path_loss_db",
]
