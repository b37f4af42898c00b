"""GeoFrame.project refuses what is no position on Earth, instead of returning (inf, inf)."""

from __future__ import annotations

import math

import pytest

from v2x.errors import ConfigError
from v2x.geo import GeoFrame


def test_project_gives_utm_50n_metres() -> None:
    e, n = GeoFrame().project(39.9, 116.4)
    assert 400_000 < e < 500_000 and 4_400_000 < n < 4_500_000


@pytest.mark.parametrize(("lat", "lon", "key", "match"), [
    (116.4, 39.9, "lat", "lat and lon swapped"),   # issue 12: gave (inf, inf)
    (39.9, 200.0, "lon", "-180..180"),
    (math.nan, 116.4, "lat", "got nan"),
    (39.9, math.inf, "lon", "got inf"),
    ("39.9", 116.4, "lat", "a number"),
    (True, 116.4, "lat", "a number"),
])
def test_project_refuses_what_is_no_position(lat: object, lon: object, key: str,
                                             match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        GeoFrame().project(lat, lon)  # type: ignore[arg-type]
    assert info.value.key == key


def test_project_refuses_a_point_the_crs_cannot_reach() -> None:
    # the south pole lies outside the domain of France's Lambert-93 projection
    with pytest.raises(ConfigError, match="cannot project") as info:
        GeoFrame(crs="EPSG:2154").project(-90.0, 117.0)
    assert info.value.key == "lon"
