"""A fuzzer on the reader: real GRIB files, mutated a few hundred times; every outcome must be the original's
data, a documented nwpflow error, or a change that the file itself makes (a value GRIB cannot protect).

Each mutation damages one file in one way: a byte of a section set to another value (mostly the headers,
sections 0-5, where a change alters what the data mean; sometimes the bitmap or packed data), the file cut
at any byte or at a message boundary, a message dropped or given twice, bytes inserted between messages.
The mutated file is read as a product job reads its inputs: the fields it needs, the members and lead times
the original holds, values checked against their physical ranges (``invalid_values="error"``). Outcomes:

* ``identical``: the same dataset, bit for bit (a byte that carries nothing the reader uses: a local
  section, a key of section 1 such as the production status);
* ``error``: an :class:`nwpflow.NwpflowError` (a documented error), by class;
* ``changed``: other values than the original's, where the file says so: the change is confined to the
  values of the mutated message, those values are what plain ecCodes decodes from the mutated bytes, and
  they lie within the field's physical range. GRIB carries no checksum: a packed value changed within the
  physical range is indistinguishable from data (docs/data-model.md).

Anything else fails the test: another exception, a crash of the process (ecCodes is C), a hang. The reads
run in a child process per file with a timeout, which reports one line per mutation, so that a crash or a
hang names the mutation that caused it.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from conftest import SHARED_DATA

HERE = Path(__file__).resolve()

SAMPLE = "sample:icon-300-cells-10-levels"
"""The sample's member 1 at +1 h, written for the test (:func:`sample_file`)."""

CASES = [
    # (file below ../shared/data, or the sample's: fields a job reads, invalid_values, mutations)
    (SAMPLE, ["T", "P", "W", "TOT_PREC"], "error", 100),
    ("icon/icon_global_icosahedral_single-level_2021112018_000_TOT_PREC.grib2", ["TOT_PREC"], "error", 50),
    ("ensemble/era5_10members_z_t_500_850.grib", ["T", "FI"], "error", 60),
    # cfgrib's test file holds T_2M values around 0 (not K): read as they are, for its bitmap and minute steps
    ("cosmo_icon_misc/cnmc_t2m_3x3_73steps_step60m.grib", ["T_2M"], "ignore", 60),
    ("ifs_model_levels/ifs_ml137_uvtq_lnsp_z_20181114T12_step24.grib", ["T", "QV", "U"], "error", 25),
]
"""Real files of four producers (DWD ICON, ECMWF ERA5 in GRIB 1, a COSMO centre, IFS model levels) and a file
of the ICON-like sample in MeteoSwiss's layout (unstructured grid, generalVertical levels with ``nlev``,
members, CCSDS packing) on 300 cells and 10 levels; 295 mutations in all. (The MeteoSwiss snippet of the
shared data holds 9 of 80 levels: the reader refuses it, so it has no original to compare with.)"""


TIMEOUT_S = 600
"""For all mutations of one file: a hang fails the test here instead of blocking CI."""


# ----------------------------------------------------------------------------------------------- mutations


def sections(data: bytes, start: int, length: int) -> list[tuple[int, int, int]]:
    """``(number, offset, length)`` of the sections of the message at ``start`` (GRIB 1 or 2)."""
    edition = data[start + 7]
    if edition == 2:
        found, position, end = [(0, start, 16)], start + 16, start + length - 4
        while position + 5 <= end:
            size = int.from_bytes(data[position:position + 4], "big")
            if size < 5:
                break
            found.append((data[position + 4], position, size))
            position += size
        return found + [(8, start + length - 4, 4)]
    found, position = [(0, start, 8)], start + 8
    flags = data[position + 7]
    for number, present in ((1, True), (2, flags & 0x80), (3, flags & 0x40), (4, True)):
        if present:
            size = int.from_bytes(data[position:position + 3], "big")
            found.append((number, position, size))
            position += size
    return found + [(5, start + length - 4, 4)]


def mutations(data: bytes, spans: list[tuple[int, int]], count: int, seed: int):
    """``count`` mutations of ``data`` (whose messages are ``spans``): ``(description, bytes, message index or
    None, section number or None)``, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(count):
        kind = rng.choices(["header", "data", "cut", "cut_boundary", "drop", "twice", "insert"],
                           [55, 12, 10, 6, 6, 5, 6])[0]
        index = rng.randrange(len(spans))
        start, length = spans[index]
        if kind in ("header", "data"):
            parts = sections(data, start, length)
            headers = [p for p in parts if p[0] in ((0, 1, 2, 3, 4, 5) if data[start + 7] == 2 else (0, 1, 2))]
            values = [p for p in parts if p not in headers]
            number, offset, size = rng.choice(headers if kind == "header" else values)
            position = offset + rng.randrange(size)
            new = rng.choice([0, 255, data[position] ^ (1 << rng.randrange(8)), rng.randrange(256)])
            if new == data[position]:
                new ^= 1
            mutated = bytearray(data)
            mutated[position] = new
            yield f"byte {position} (message {index + 1}, section {number}) {data[position]} -> {new}", \
                bytes(mutated), index, number
        elif kind == "cut":
            position = rng.randrange(1, len(data))
            yield f"cut at byte {position}", data[:position], None, None
        elif kind == "cut_boundary":
            yield f"cut after message {index}", data[:start], None, None
        elif kind == "drop":
            yield f"message {index + 1} dropped", data[:start] + data[start + length:], None, None
        elif kind == "twice":
            yield f"message {index + 1} twice", data[:start + length] + data[start:], None, None
        else:
            junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64)))
            yield f"{len(junk)} bytes inserted after message {index + 1}", \
                data[:start + length] + junk + data[start + length:], None, None


# ------------------------------------------------------------------------------------------------ the child


def _plain_values(data: bytes, start: int, length: int):
    """Values of one message decoded by plain ecCodes (float32, bitmap -> NaN), or ``None`` where it cannot."""
    import numpy as np

    from nwpflow.io.eccodes_env import eccodes

    try:
        handle = eccodes.codes_new_from_message(data[start:start + length])
    except Exception:  # noqa: BLE001 - the reference decoder's own failure: no reference
        return None
    try:
        values = eccodes.codes_get_double_array(handle, "values")
        if eccodes.codes_get_long(handle, "bitmapPresent"):
            values[values == eccodes.codes_get_double(handle, "missingValue")] = np.nan
        return values.astype(np.float32)
    except Exception:  # noqa: BLE001
        return None
    finally:
        eccodes.codes_release(handle)


def _plain_reference_time(data: bytes, start: int, length: int):
    """The reference time of one message as plain ecCodes reads it (``dataDate``, ``dataTime``)."""
    import numpy as np

    from nwpflow.io.eccodes_env import eccodes

    handle = eccodes.codes_new_from_message(data[start:start + length])
    try:
        date, time = eccodes.codes_get_long(handle, "dataDate"), eccodes.codes_get_long(handle, "dataTime")
    finally:
        eccodes.codes_release(handle)
    return np.datetime64(f"{date // 10000:04d}-{date // 100 % 100:02d}-{date % 100:02d}T{time // 100:02d}:"
                         f"{time % 100:02d}", "ns")


def _classify(original, mutated, mutated_bytes, spans, index) -> str:
    """``identical``, ``changed`` (confined to the mutated message and what ecCodes decodes from it), or
    ``unfaithful: ...``."""
    import numpy as np

    if _same(original, mutated):
        return "identical"
    if index is None:
        return "unfaithful: changed data after a cut or a moved message"
    if set(original.data_vars) != set(mutated.data_vars) or any(
            original[n].dims != mutated[n].dims or original[n].shape != mutated[n].shape for n in original.data_vars):
        return "unfaithful: other fields or dims"
    if set(original.coords) != set(mutated.coords):
        return "unfaithful: other coordinates"
    start, length = spans[index]
    changed = 0
    for name in original.coords:
        if not np.array_equal(original[name].values, mutated[name].values):
            if name not in ("time", "valid_time") or len(spans) != 1:
                return f"unfaithful: coordinate {name} changed"
            if mutated["time"].values != _plain_reference_time(mutated_bytes, start, length):
                return "unfaithful: reference time not what ecCodes reads"
            changed = 1  # the reference time of a file of one message: what its section 1 says
    plain = _plain_values(mutated_bytes, start, length)
    for name in original.data_vars:
        a, b = original[name].values, mutated[name].values
        hdims = original[name].shape[-2:] if original[name].dims[-1] == "x" else original[name].shape[-1:]
        points = int(np.prod(hdims))
        a2, b2 = a.reshape(-1, points), b.reshape(-1, points)
        for row in range(a2.shape[0]):
            if np.array_equal(a2[row], b2[row], equal_nan=True):
                continue
            changed += 1
            if changed > 1:
                return f"unfaithful: {name} row {row}: more than one message changed"
            # ecCodes' float decoder (the reader's) computes in single precision, its double decoder (the
            # reference's) in double: where a decimal scale factor is set, they round apart by up to an ulp
            if plain is None or plain.size != points or not np.allclose(b2[row], plain.reshape(-1), rtol=2.0**-22,
                                                                        atol=0.0, equal_nan=True):
                return f"unfaithful: {name} row {row} is not what ecCodes decodes from the mutated message"
    return "changed" if changed else "unfaithful: other data, yet no field differs"


def _same(a, b) -> bool:
    import numpy as np

    if set(a.data_vars) != set(b.data_vars) or set(a.coords) != set(b.coords):
        return False
    for name in [*a.data_vars, *a.coords]:
        if a[name].dims != b[name].dims or not np.array_equal(a[name].values, b[name].values,
                                                             equal_nan=a[name].dtype.kind == "f"):
            return False
    return True


def sample_file(scratch: str | Path) -> Path:
    """The ICON-like sample's file of member 1 at +1 h on 300 cells and 10 levels, CCSDS-packed."""
    import dataclasses

    from nwpflow.io.sample import PRESETS, write_sample
    from nwpflow.io.sample.presets import IconGrid

    preset = dataclasses.replace(PRESETS["small"], grid=IconGrid(ncells=300), nlev=10)
    written = write_sample(Path(scratch) / "sample", preset, members=[1], lead_times=[1], packing="grid_ccsds")
    return next(p for p in written if p.name == "lfff00010000")


def child(relative: str, fields: list[str], invalid: str, count: int, seed: int, scratch: str) -> None:
    """Run the mutations of one file, printing one JSON line as each starts and one as it ends."""
    import numpy as np

    import nwpflow
    from nwpflow.io.formats import message_spans

    path = sample_file(scratch) if relative == SAMPLE else SHARED_DATA / relative
    data = path.read_bytes()
    spans = message_spans(str(path), data)
    original = nwpflow.open_run(path, fields, invalid_values=invalid, threads=1)
    request = {}
    if "member" in original.coords:
        request["members"] = [int(m) for m in np.atleast_1d(original["member"].values)]
    if "step" in original.coords:
        request["lead_times"] = list(np.atleast_1d(original["step"].values))
    if "time" in original.coords:
        request["reference_times"] = list(np.atleast_1d(original["time"].values))
    target = Path(scratch) / path.name
    for number, (what, mutated, index, section) in enumerate(mutations(data, spans, count, seed)):
        print(json.dumps({"start": number, "what": what}), flush=True)
        target.write_bytes(mutated)
        record = {"end": number, "what": what, "section": section}
        try:
            result = nwpflow.open_run(target, fields, invalid_values=invalid, threads=1, **request)
        except nwpflow.NwpflowError as error:
            record.update(outcome="error", error=type(error).__name__, message=str(error)[:300])
        except BaseException as error:  # noqa: BLE001 - what the test is looking for
            record.update(outcome="exception", error=type(error).__name__, message=str(error)[:300])
        else:
            verdict = _classify(original, result, mutated, spans, index)
            record.update(outcome=verdict.split(":")[0], message=verdict)
        print(json.dumps(record), flush=True)


if __name__ == "__main__" and sys.argv[1:2] == ["child"]:
    child(sys.argv[2], sys.argv[3].split(","), sys.argv[4], int(sys.argv[5]), int(sys.argv[6]), sys.argv[7])
    sys.exit(0)


# ------------------------------------------------------------------------------------------------- the test


def run_case(relative, fields, invalid, count, seed, scratch) -> list[dict]:
    """Run one file's mutations in a child process; its records, a crash or a hang as records too."""
    if relative != SAMPLE and not (SHARED_DATA / relative).exists():
        pytest.skip(f"shared data {SHARED_DATA / relative} is absent")
    command = [sys.executable, str(HERE), "child", relative, ",".join(fields), invalid, str(count), str(seed),
               str(scratch)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=HERE.parent)
        out, code = done.stdout, done.returncode
    except subprocess.TimeoutExpired as expired:
        out, code = (expired.stdout or b"").decode() if isinstance(expired.stdout, bytes) else expired.stdout or "", None
    records, started = [], {}
    for line in out.splitlines():
        if not line.startswith("{"):
            continue
        item = json.loads(line)
        if "start" in item:
            started[item["start"]] = item["what"]
        else:
            started.pop(item["end"], None)
            records.append(item)
    for number, what in started.items():
        records.append({"end": number, "what": what, "outcome": "hang" if code is None else "crash",
                        "message": f"exit code {code}; stderr: {done.stderr[-500:] if code is not None else ''}"})
    if code not in (0, None) and not started:
        records.append({"what": "the child", "outcome": "crash", "message": done.stderr[-2000:]})
    return records


@pytest.mark.parametrize(("relative", "fields", "invalid", "count"), CASES, ids=[c[0].split("/")[0].split(":")[0] for c in CASES])
def test_mutated_grib_reads_as_the_original_or_fails_clearly(relative, fields, invalid, count, tmp_path, request):
    records = run_case(relative, fields, invalid, count, seed=9, scratch=tmp_path)
    counts = Counter(r["outcome"] if r["outcome"] != "error" else f"error {r['error']}" for r in records)
    print(f"\n{relative}: {dict(sorted(counts.items()))}")
    bad = [r for r in records if r["outcome"] not in ("identical", "error", "changed")]
    assert not bad, "\n".join(f"{r['what']}: {r['outcome']}: {r.get('error', '')} {r['message']}" for r in bad)
    assert len(records) == count
    changed = [r for r in records if r["outcome"] == "changed"]
    assert all(r["section"] not in (None, 0) for r in changed), changed  # a value of a message, never a cut
