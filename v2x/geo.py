"""Coordinates: SUMO network x/y <-> WGS84 latitude/longitude.

Generated networks are geo-referenced in UTM zone 50N (EPSG:32650; Xiqing lies on its central
meridian 117 E). A SUMO network maps its cartesian x/y to projected coordinates by subtracting
its ``netOffset`` (``<location netOffset=...>``); :class:`GeoFrame` does the same with pyproj so
that positions agree with ``simulation.convertGeo`` (see ``tests/v2x/test_geo.py``).
All transforms use ``always_xy=True``: (lon, lat) and (x, y) order everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyproj

from v2x.errors import ConfigError

__all__ = ["UTM50N", "GeoFrame"]

#: UTM zone 50N on WGS84, the projection of generated Xiqing networks
UTM50N = "EPSG:32650"


@dataclass(frozen=True)
class GeoFrame:
    """Maps network x/y [m] to WGS84 lat/lon [degree] and back.

    Args:
        crs: the projected CRS of the network (default UTM 50N, EPSG:32650).
        offset_x, offset_y: SUMO ``netOffset`` [m]: projected = (x - offset_x, y - offset_y).
    """

    crs: str = UTM50N
    offset_x: float = 0.0
    offset_y: float = 0.0
    _fwd: pyproj.Transformer = field(init=False, repr=False, compare=False)
    _inv: pyproj.Transformer = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        try:
            fwd = pyproj.Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
            inv = pyproj.Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        except pyproj.exceptions.CRSError as exc:
            raise ConfigError(f"unknown coordinate reference system {self.crs!r}",
                              key="geo.crs", value=self.crs) from exc
        object.__setattr__(self, "_fwd", fwd)
        object.__setattr__(self, "_inv", inv)

    def __reduce__(self) -> tuple[type[GeoFrame], tuple[str, float, float]]:
        # pickled (e.g. to a traffic process) as its parameters; transformers are rebuilt
        return (GeoFrame, (self.crs, self.offset_x, self.offset_y))

    def to_latlon(self, x: np.ndarray | float,
                  y: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Network x, y [m] (n,) -> (lat, lon) [degree] (n,) float64."""
        lon, lat = self._inv.transform(np.asarray(x, dtype=np.float64) - self.offset_x,
                                       np.asarray(y, dtype=np.float64) - self.offset_y)
        return np.asarray(lat), np.asarray(lon)

    def to_xy(self, lat: np.ndarray | float,
              lon: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """(lat, lon) [degree] (n,) -> network x, y [m] (n,) float64."""
        e, n = self._fwd.transform(np.asarray(lon, dtype=np.float64),
                                   np.asarray(lat, dtype=np.float64))
        return np.asarray(e) + self.offset_x, np.asarray(n) + self.offset_y

    def project(self, lat: float, lon: float) -> tuple[float, float]:
        """(lat, lon) [degree] -> projected easting, northing [m] (without the net offset).

        Raises:
            ConfigError: ``lat`` is not in -90..90 or ``lon`` not in -180..180 (key ``lat`` /
                ``lon``; lat and lon swapped is the usual cause), or the CRS cannot project
                the point to finite coordinates (key ``lon``).
        """
        for key, value, limit in (("lat", lat, 90.0), ("lon", lon, 180.0)):
            if isinstance(value, bool) or not isinstance(value, int | float | np.floating) \
                    or not -limit <= value <= limit:
                name = "latitude" if key == "lat" else "longitude"
                swapped = _in_range(lon, 90.0) and _in_range(lat, 180.0)
                raise ConfigError(f"{name} must be a number in -{limit:g}..{limit:g} degrees, "
                                  f"got {value!r}" + (" (lat and lon swapped?)" if swapped else ""),
                                  key=key, value=value)
        try:
            e, n = self._fwd.transform(lon, lat, errcheck=True)
        except pyproj.exceptions.ProjError as exc:
            raise ConfigError(f"{self.crs} cannot project lat {lat!r}, lon {lon!r}: {exc}",
                              key="lon", value=lon) from exc
        if not (np.isfinite(e) and np.isfinite(n)):
            raise ConfigError(f"{self.crs} projects lat {lat!r}, lon {lon!r} to no finite "
                              f"point ({e}, {n})", key="lon", value=lon)
        return float(e), float(n)

    @classmethod
    def from_net(cls, net_file: str) -> GeoFrame:
        """Read the ``<location>`` element of a SUMO ``.net.xml``.

        Raises:
            ConfigError: the network has no projection (``projParameter="!"``), is not
                readable XML, or its ``netOffset`` is not two numbers.
        """
        import xml.etree.ElementTree as ET

        try:
            for _, elem in ET.iterparse(net_file, events=("start",)):
                if elem.tag == "location":
                    proj = elem.get("projParameter", "!")
                    offset = elem.get("netOffset", "0,0")
                    try:
                        ox, oy = (float(v) for v in offset.split(","))
                    except ValueError:
                        raise ConfigError("netOffset is not two numbers", file=net_file,
                                          key="location.netOffset", value=offset) from None
                    if proj in ("!", ""):
                        raise ConfigError("network is not geo-referenced (projParameter='!')",
                                          file=net_file, key="location.projParameter",
                                          value=proj)
                    return cls(crs=proj, offset_x=ox, offset_y=oy)
        except (ET.ParseError, OSError) as exc:
            raise ConfigError(f"cannot read the network: {exc}", file=net_file,
                              key="network.path") from exc
        raise ConfigError("network has no <location> element", file=net_file, key="location")


def _in_range(value: object, limit: float) -> bool:
    return isinstance(value, int | float | np.floating) and not isinstance(value, bool) \
        and bool(-limit <= value <= limit)
