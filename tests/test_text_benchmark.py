"""benchmarks/tokenization.py stays runnable: a quick run on real text gives positive, comparable
figures."""

import pytest


@pytest.mark.integration
def test_tokenization_benchmark_quick_run():
    pytest.importorskip("tokenizers")
    from benchmarks import tokenization
    from tests.conftest import minilm_or_skip

    minilm_or_skip()
    try:
        rows = tokenization.run(quick=True)  # raises if the two token counts differ
    except FileNotFoundError as e:  # datasets not fetched (outside CI)
        pytest.skip(str(e))
    assert len(rows) == 2
    for r in rows:
        assert r["unit"] == "tokens/s" and r["ours"] > 0 and r["theirs"] > 0 and r["ratio"] > 0
