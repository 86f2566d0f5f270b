"""The harness's own strict exposition parser: it must reject garbage, or
the scenarios' exact-value checks would prove nothing."""

import os

import pytest

from conftest import parse_metrics

GOOD = ('# HELP a_total Things.\n# TYPE a_total counter\na_total{x="1"} 3\n'
        '# TYPE b gauge\nb{x="q\\"\\\\\\n"} -Inf\nb 1e3\n')


def test_parses_valid_text():
    s = parse_metrics(GOOD)
    assert s == {("a_total", frozenset({("x", "1")})): 3.0,
                 ("b", frozenset({("x", 'q"\\\n')})): float("-inf"),
                 ("b", frozenset()): 1000.0}


def test_parses_valid_openmetrics():
    s = parse_metrics('# TYPE a counter\na_total 3\na_created 1.5\n'
                      '# TYPE i info\ni_info{v="1"} 1\n# EOF\n', openmetrics=True)
    assert s[("a_total", frozenset())] == 3.0
    assert s[("i_info", frozenset({("v", "1")}))] == 1.0


@pytest.mark.parametrize("bad", [
    "",                                           # no trailing newline
    "a 1",                                        # no trailing newline
    "a 1\n",                                      # sample before any TYPE
    "# TYPE a gauge\nb 1\n",                      # sample outside its family
    "# TYPE a gauge\na 1\n# TYPE a gauge\n",      # family twice
    "# TYPE a gauge\na 1\na 2\n",                 # duplicate series
    "# TYPE a gauge\na{x=\"1\",x=\"2\"} 1\n",     # label twice
    "# TYPE a gauge\na{x=\"\\q\"} 1\n",           # bad escape
    "# TYPE a gauge\na{x=1} 1\n",                 # unquoted label value
    "# TYPE a gauge\na{x=\"1\"\n",                # cut off
    "# TYPE a gauge\na one\n",                    # bad value
    "# TYPE a gauge\na  1\n",                     # double space
    "# TYPE a widget\na 1\n",                     # unknown type
    "# TYPE 1a gauge\n",                          # bad name
    "# TYPE a gauge\n\x00\n",                     # binary garbage
])
def test_rejects_garbage_text(bad):
    with pytest.raises(ValueError):
        parse_metrics(bad)


@pytest.mark.parametrize("bad", [
    "# TYPE a gauge\na 1\n",                      # no # EOF
    "# TYPE a gauge\n# EOF\na 1\n",               # # EOF not last
    "# TYPE a counter\na 1\n# EOF\n",             # counter sample without _total
    "# TYPE a gauge\n\na 1\n# EOF\n",             # blank line
    "# TYPE a untyped\na 1\n# EOF\n",             # 0.0.4-only type
])
def test_rejects_garbage_openmetrics(bad):
    with pytest.raises(ValueError):
        parse_metrics(bad, openmetrics=True)


def test_storage_format_takes_a_dash_leading_cluster_id(tmp_path):
    """Random base64url cluster ids start with "-" one time in 64; formatting must
    not read such an id as an option (it once failed a CI run that way)."""
    import shutil
    from conftest import KafkaBroker
    broker = KafkaBroker(str(tmp_path / "kafka"))  # formats once, with a random id
    data = os.path.join(broker.dir, "data")
    shutil.rmtree(data)
    broker._format("-" + "Ab" * 11)
    assert os.path.isfile(os.path.join(data, "meta.properties"))
