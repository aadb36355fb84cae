"""The same Extractor under Ray Data (a local Ray of 2 CPUs) writes the same corpus."""

from __future__ import annotations

import numpy as np
import pytest
from corpus_texts import TEXTS

import bertviz_lite as bv


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_a_ray_build_equals_the_local_one(local_ray, built, tmp_path):
    c = bv.corpus.build("minilm", TEXTS, out=tmp_path / "ray", chunk_size=4, engine="ray")
    assert c.manifest["status"] == "complete" and c.size == built.size
    for measure in ("attention", "norm"):
        a, b = c.head_stats(measure), built.head_stats(measure)
        for name in a.column_names:
            np.testing.assert_allclose(a.column(name).to_numpy(), b.column(name).to_numpy(),
                                       rtol=0, atol=1e-6, err_msg=name)  # fmt: skip
    assert c.dependency_accuracy().column("accuracy").equals(
        built.dependency_accuracy().column("accuracy"))  # fmt: skip
    for text, position, layer, where in (("The bank closed.", 2, 4, None),
                                         ("Paris in spring.", 1, 6, "entity = 'GPE'")):  # fmt: skip
        ours, theirs = (x.search(text, position, layer, k=8, where=where) for x in (c, built))
        assert ours.drop_columns(["score"]).equals(theirs.drop_columns(["score"]))
        np.testing.assert_allclose(ours.column("score").to_numpy(),
                                   theirs.column("score").to_numpy(), atol=1e-6)  # fmt: skip
