"""The one definition of every table of a recording: its Parquet schema (``docs/recording.md``
says what each column holds). The writer writes these; the analysis reads them."""

from __future__ import annotations

import pyarrow as pa

__all__ = ["SCHEMAS"]

_str = pa.dictionary(pa.int32(), pa.string())

SCHEMAS: dict[str, pa.Schema] = {
    "nodes": pa.schema([("node", pa.int64()), ("name", pa.string()), ("kind", pa.string()),
                        ("vclass", pa.int16()), ("length_m", pa.float32()),
                        ("width_m", pa.float32())]),
    "trajectories": pa.schema([("t_ns", pa.int64()), ("vehicle", pa.int64()),
                               ("x", pa.float64()), ("y", pa.float64()),
                               ("lat", pa.float64()), ("lon", pa.float64()),
                               ("speed", pa.float64()), ("accel", pa.float64()),
                               ("heading_deg", pa.float64()), ("lane", _str),
                               ("lane_pos", pa.float64()), ("length", pa.float64())]),
    "transmissions": pa.schema([("tx_id", pa.int64()), ("t_ns", pa.int64()),
                                ("sender", pa.int64()), ("msg_type", _str),
                                ("msg_cnt", pa.int16()), ("size_bytes", pa.int32()),
                                ("x", pa.float64()), ("y", pa.float64()),
                                ("frame", pa.binary())]),
    "receptions": pa.schema([("tx_id", pa.int64()), ("t_ns", pa.int64()),
                             ("receiver", pa.int64()), ("msg_type", _str),
                             ("distance_m", pa.float32()), ("received", pa.bool_()),
                             ("latency_ns", pa.int64()), ("used_by", _str)]),
    "prr_bins": pa.schema([("msg_type", pa.string()), ("bin_lo_m", pa.float64()),
                           ("bin_hi_m", pa.float64()), ("n_pairs", pa.int64()),
                           ("n_received", pa.int64())]),
    "latency_hist": pa.schema([("msg_type", pa.string()), ("bin_lo_ns", pa.int64()),
                               ("bin_hi_ns", pa.int64()), ("count", pa.int64())]),
    "ipg_hist": pa.schema([("msg_type", pa.string()), ("bin_lo_ns", pa.int64()),
                           ("bin_hi_ns", pa.int64()), ("count", pa.int64())]),
    "bus": pa.schema([("t_ns", pa.int64()), ("topic", pa.string()), ("msg_type", _str),
                      ("direction", _str), ("size_bytes", pa.int32()),
                      ("wall_latency_ms", pa.float64()), ("wall_ns", pa.int64())]),
    "warnings": pa.schema([("t_ns", pa.int64()), ("app", _str), ("vehicle", pa.int64()),
                           ("remote", pa.int64()), ("ttc_s", pa.float64()),
                           ("gap_m", pa.float64()), ("tx_id", pa.int64()),
                           ("info_age_ms", pa.float64())]),
    "events": pa.schema([("t_ns", pa.int64()), ("kind", _str), ("vehicle", pa.int64()),
                         ("other", pa.int64()), ("value", pa.float64())]),
}
