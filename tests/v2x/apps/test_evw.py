"""Emergency vehicle warning: the rule on hand-computed links, and the emergency vehicle's
BSM fields (classification 60..69, emergencyExt, safetyExt.lights) from the OBU's columns
through real UPER frames."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydantic
import pytest

from tests.v2x.apps.v2v_cases import run_case
from v2x.apps import EmergencyVehicleWarning, EvwConfig, make_app
from v2x.geo import GeoFrame
from v2x.messages import (
    BSM_BATCH_FRAME_BYTES,
    BsmBatch,
    BsmFields,
    SumoSignal,
    bsm_frame_lengths,
    decode_bsm_frames,
    decode_frame,
    encode_bsm_batch,
    encode_bsm_rows,
    frame_to_json,
)

IN_USE, NOT_IN_USE, ABSENT = 2, 1, -1


def test_config_defaults_and_validation() -> None:
    c = EvwConfig()
    assert (c.range_m, c.min_closing_mps) == (300.0, 0.5)
    with pytest.raises(pydantic.ValidationError):
        EvwConfig.model_validate({"range_m": 0})
    assert make_app("evw").name == "EVW"


def test_the_rule_by_hand() -> None:
    # host at the origin heading east at 10 m/s; remotes heading east unless said
    rx = [-100, -100, -100, -100, 100, 100, -301, -299, -100]
    rh = [90, 90, 90, 90, 90, 270, 90, 90, 90]
    rv = [20, 20, 20, 20, 20, 15, 20, 20, 10.2]
    cls = [60, 60, 60, 10, 69, 65, 60, 60, 60]
    siren = [IN_USE, NOT_IN_USE, NOT_IN_USE, IN_USE, IN_USE, IN_USE, IN_USE, IN_USE, IN_USE]
    bar = [ABSENT, NOT_IN_USE, IN_USE, IN_USE, IN_USE, IN_USE, IN_USE, IN_USE, IN_USE]
    r = EmergencyVehicleWarning().evaluate(
        ego_x=0.0, ego_y=0.0, ego_heading_deg=90.0, ego_speed=10.0, remote_x=rx,
        remote_y=0.0, remote_heading_deg=rh, remote_speed=rv, remote_classification=cls,
        remote_siren_use=siren, remote_lightbar_use=bar)
    assert r.warn.tolist() == [
        True,   # 100 m behind, 10 m/s faster, siren on
        False,  # siren and light bar off
        True,   # light bar alone
        False,  # a passenger car (10) with an emergencyExt is not an emergency vehicle
        False,  # ahead and faster: going away
        True,   # oncoming ahead: closing at 25 m/s
        False,  # 301 m > 300 m
        True,   # 299 m
        False,  # closing at 0.2 m/s < 0.5 m/s
    ]
    np.testing.assert_allclose(r.closing_mps[[0, 4, 5]], [10.0, -10.0, 25.0])
    np.testing.assert_allclose(r.time_to_meet_s[0], 10.0)  # 100 m / 10 m/s


def test_emergency_fields_through_uper(frame: GeoFrame) -> None:
    """An ambulance (60) with blue light and left blinker, one without blue light, a car with
    hazard lights and a scripted ABS event: real frames, batch-decoded."""
    sig = np.array([SumoSignal.EMERGENCY_BLUE | SumoSignal.BLINKER_LEFT, 0,
                    SumoSignal.BLINKER_EMERGENCY])
    fields = BsmFields.encode(
        x=np.array([0.0, 10.0, 20.0]), y=np.zeros(3), geo=frame, speed=np.full(3, 10.0),
        heading_deg=np.full(3, 90.0), accel=np.zeros(3), width=np.full(3, 2.0),
        length=np.full(3, 6.0), height=np.full(3, 2.5),
        classification=np.array([60, 60, 10], np.int16), brake=np.zeros(3, bool),
        signals=sig, vehicle_events=np.array([0, 0, 1 << 2]))
    # hand: ambulance lights = leftTurnSignalOn (bit 2) = 4; hazard car events = hazardLights
    # (bit 0) | ABSactivated (bit 2) = 5, no lights element (not an emergency vehicle)
    assert fields.lights.tolist() == [4, 0, -1]
    assert fields.siren_use.tolist() == [IN_USE, NOT_IN_USE, ABSENT]
    assert fields.events.tolist() == [0, 0, 5]
    batch = BsmBatch.assemble(fields, np.arange(3), sender=np.array([5, 6, 7]),
                              msg_cnt=np.array([1, 2, 3]), sec_mark=1234)
    # 310 bits of the fixed layout + 10 (lights) + 4 (emergencyExt header) + 2 + 3 = 329 bits
    assert bsm_frame_lengths(batch).tolist() == [42, 42, BSM_BATCH_FRAME_BYTES]
    frames = encode_bsm_batch(batch)
    assert [len(f) for f in frames] == [42, 42, 39]
    m = decode_frame(frames[0])
    assert (m.classification, m.lights, m.emergency.siren_use, m.emergency.lights_use) == (
        60, 4, IN_USE, IN_USE)
    assert frame_to_json(m) == batch.to_json()[0]
    rows = encode_bsm_rows(batch)
    assert rows.shape == (3, 42)
    dec, ok, errors = decode_bsm_frames(rows, bsm_frame_lengths(batch))
    assert ok.all() and not errors
    assert dec.siren_use.tolist() == [IN_USE, NOT_IN_USE, ABSENT]
    assert dec.lightbar_use.tolist() == [IN_USE, NOT_IN_USE, ABSENT]
    assert dec.lights.tolist() == [4, 0, -1] and dec.events.tolist() == [0, 0, 5]
    # a row cut short (20 of its 39 bytes) is a decode error of its own; the others decode
    plain = encode_bsm_rows(batch.take(np.array([2, 2, 2])))
    dec3, ok3, err3 = decode_bsm_frames(plain, np.array([39, 20, 39]))
    assert ok3.tolist() == [True, False, True] and [i for i, _ in err3] == [1]
    assert dec3.events.tolist() == [5, 5]
    # the same frames as a list of bytes decode the same
    dec2, ok2, _ = decode_bsm_frames(frames)
    assert ok2.all() and dec2.siren_use.tolist() == dec.siren_use.tolist()


@pytest.mark.sumo
def test_library_cases(tmp_path: Path) -> None:
    """xiqing-evw-approach-behind-50kmh: the host alone is warned about the ambulance
    at 5.3-5.6 s (hand computation in the case file);
    xiqing-evw-no-action-no-siren: nobody is warned."""
    pos = run_case("xiqing-evw-approach-behind-50kmh", tmp_path / "pos")
    assert pos.passed
    assert pos.warnings[["app", "vehicle", "remote"]].values.tolist() == [["EVW", "host",
                                                                          "ambulance"]]
    assert 5.3 <= pos.warnings["t_s"].iloc[0] <= 5.6
    # 300 m away, closing at 11.1 m/s: about 27 s to meet
    assert 299.0 <= pos.warnings["gap_m"].iloc[0] <= 300.0
    assert pos.warnings["ttc_s"].iloc[0] == pytest.approx(27.0, abs=0.5)
    neg = run_case("xiqing-evw-no-action-no-siren", tmp_path / "neg")
    assert neg.passed and neg.warnings.empty
