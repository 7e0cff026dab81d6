"""The plausibility check on decoded values (nwpflow.io.checks): its fast path (a minimum and a maximum)
must let through exactly what its slow path (value by value) lets through."""

from __future__ import annotations

import numpy as np
import pytest

from nwpflow.errors import ImplausibleValuesError
from nwpflow.io.checks import check_values

NO_RANGE = "NOT_IN_THE_DATA_MODEL"
"""A field without a range: only non-finite values are refused."""


def check(values, field, **keywords):
    return check_values(np.array(values, dtype=np.float32), field, path="f.grib", where="message 1", **keywords)


@pytest.mark.parametrize(("values", "field", "keywords"), [
    ([280.0, 290.0], "T", {}),
    ([280.0, 3.0e38], NO_RANGE, {}),  # finite, however large
    ([280.0, np.nan], NO_RANGE, {"nan_is_missing": True}),  # NetCDF fill
    ([280.0, 9999.0], "T", {"missing": np.array([False, True])}),  # out of range, but missing in the bitmap
    ([9999.0, 9999.0], "T", {"missing": np.array([True, True])}),  # nothing held
])
def test_plausible_or_missing_values_pass(values, field, keywords):
    assert check(values, field, **keywords) == 0


@pytest.mark.parametrize(("values", "field", "keywords", "message"), [
    ([280.0, np.inf], "T", {}, r"1 of 2 values outside its range 100 to 350 K \(1 not finite\)"),
    ([50.0, 9999.0], "T", {}, r"2 of 2 values outside its range 100 to 350 K \(lowest 50, highest 9999\)"),
    # a float32 infinity against a field without a range: the bound is a float64, never cast to +-inf
    ([280.0, -np.inf], NO_RANGE, {}, r"1 of 2 values not finite"),
    ([280.0, np.nan], NO_RANGE, {}, r"1 of 2 values not finite"),
    ([np.nan, 9999.0], "T", {"missing": np.array([False, True])}, r"1 of 1 values .*1 not finite"),
])
def test_implausible_values_are_refused_naming_file_message_field_count_and_range(values, field, keywords, message):
    with pytest.raises(ImplausibleValuesError, match=message) as raised:
        check(values, field, **keywords)
    assert "f.grib" in str(raised.value) and repr(field) in str(raised.value) and "message 1" in str(raised.value)


def test_bitmap_points_become_nan_and_are_never_checked():
    values = np.array([280.0, 9999.0, 290.0, 9999.0], dtype=np.float32)  # 9999: GRIB's missing value
    assert check_values(values, "T", path="f.grib", where="message 1", missing=values == 9999.0) == 0
    np.testing.assert_array_equal(values, [280.0, np.nan, 290.0, np.nan])
    values = np.array([280.0, 9999.0, -1e30], dtype=np.float32)  # a held value out of range still counts
    with pytest.raises(ImplausibleValuesError, match=r"1 of 2 values .*lowest -1e\+30"):
        check_values(values, "T", path="f.grib", where="message 1", missing=values == 9999.0)


def test_masked_values_become_missing_in_place():
    values = np.array([280.0, 9999.0, np.inf], dtype=np.float32)
    assert check_values(values, "T", path="f.grib", where="message 1", invalid="missing") == 2
    np.testing.assert_array_equal(values, [280.0, np.nan, np.nan])
