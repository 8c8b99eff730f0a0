"""Reading and writing tables: CSV, TSV, Parquet, DataFrame, SQLite through SQLAlchemy; atomic writes."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import synthgov as sg


def test_csv_tsv_parquet_round_trip(cps, tmp_path):
    for name in ("t.csv", "t.tsv", "t.parquet", "t.csv.gz"):
        path = sg.write(cps.iloc[:500], tmp_path / name)
        back = sg.read(path)
        pd.testing.assert_frame_equal(back, cps.iloc[:500], check_dtype=False)
        assert list(back.dtypes.astype(str))[:3] == ["float64", "int64", "int64"]


def test_parquet_metadata_is_written(cps, tmp_path):
    path = sg.write(cps.iloc[:10], tmp_path / "m.parquet", metadata={"synthgov": '{"synthetic": true}'})
    assert pq.read_schema(path).metadata[b"synthgov"] == b'{"synthetic": true}'


def test_dataframe_input_is_copied(cps):
    df = sg.read(cps)
    df.loc[0, "wage"] = -1
    assert cps.loc[0, "wage"] != -1


def test_sql_through_sqlalchemy_url(cps, tmp_path):
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    engine = sa.create_engine(url)
    cps.sample(1000, random_state=0).to_sql("cps", engine, index=False)
    engine.dispose()
    by_table = sg.read(url, query="cps")
    by_query = sg.read(url, query="SELECT wage, region FROM cps WHERE region = 'west'")
    assert by_table.shape == (1000, 7)
    assert set(by_query.region) == {"west"} and list(by_query.columns) == ["wage", "region"]
    with pytest.raises(sg.ParameterError, match="query="):
        sg.read(url)
    with pytest.raises(sg.InputError, match="the query failed"):
        sg.read(url, query="SELECT nope FROM cps")


def test_missing_tokens_are_missing(tmp_path):
    path = tmp_path / "na.csv"
    path.write_text("x,y\n1,a\nNA,b\n,N/A\n3,null\n")
    df = sg.read(path)
    assert df.x.isna().sum() == 2 and df.y.isna().sum() == 2


def test_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "out.parquet"
    sg.write(pd.DataFrame({"a": [1]}), path)
    before = path.read_bytes()

    class Unwritable:  # a column pyarrow cannot convert
        pass

    with pytest.raises(sg.OutputError, match="as Parquet"):
        sg.write(pd.DataFrame({"a": [Unwritable()]}), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["out.parquet"]


def test_unknown_extension_and_directories_are_refused(tmp_path):
    (tmp_path / "x.xlsx").write_text("a")
    with pytest.raises(sg.InputError, match="cannot tell the format"):
        sg.read(tmp_path / "x.xlsx")
    with pytest.raises(sg.InputError, match="directory"):
        sg.read(tmp_path)


NULL_WORDS = {"NA", "N/A", "NAN", "NULL", "NONE", "#N/A", "-NAN"}
texts = st.from_regex(r"[A-Za-z\u00c0-\u024f][A-Za-z0-9 ,;\"'\u00c0-\u024f\u4e00-\u4e10]{0,10}[A-Za-z]", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(-10**6, 10**6), texts.filter(lambda v: v.upper() not in NULL_WORDS)),
                min_size=1, max_size=30))
def test_csv_round_trip_property(tmp_path_factory, rows):
    """Numbers and text with commas, quotes and non-ASCII letters survive write -> read unchanged."""
    df = pd.DataFrame(rows, columns=["n", "s"])
    path = tmp_path_factory.mktemp("rt") / "t.csv"
    sg.write(df, path)
    back = sg.read(path)
    assert back["n"].tolist() == df["n"].tolist()
    assert back["s"].tolist() == df["s"].tolist()


def test_codes_with_leading_zeros_stay_text(tmp_path):
    path = tmp_path / "zips.csv"
    path.write_text("zip,count\n02139,3\n10001,4\n00501,5\n,6\n")
    df = sg.read(path)
    assert df["zip"].tolist()[:3] == ["02139", "10001", "00501"] and df["zip"].isna().sum() == 1
    assert df["count"].dtype == "int64"
    schema = sg.TableSchema.infer(df)
    assert schema["zip"].kind.value != "numeric"
