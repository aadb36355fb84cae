"""bertviz_lite: look inside BERT-family models — attention, token vectors, predictions.

import bertviz_lite as bv
ex = bv.load("minilm")            # catalog name, checkpoint folder or hub id
r = ex.analyze("The cat sat on the mat.", pair=None, head_mask=None)
r.attentions.shape                # (layers, heads, T, T)
r.show("head", layer=2, head=5)   # in Jupyter: the app's figure, inline
bv.head_view(attention, tokens)   # bertviz's call, on transformers' output_attentions
bv.corpus.build("minilm", "texts.txt", out="corpora/mine")   # a corpus
"""

from .analysis import Analysis
from .config import BertConfig, CheckpointError
from .model import LoadedModel, load

__all__ = ["Analysis", "BertConfig", "CheckpointError", "LoadedModel", "head_view", "load",
           "model_view", "show"]  # fmt: skip
__version__ = "0.1.0"
_NOTEBOOK = ("head_view", "model_view", "show")


def __getattr__(name: str):
    # The notebook views import the plotting library: only when one is asked for.
    if name in _NOTEBOOK:
        from . import notebook

        return getattr(notebook, name)
    if name == "corpus":  # its store's libraries are optional: loaded when asked for
        import importlib

        return importlib.import_module(".corpus", __name__)
    raise AttributeError(f"module 'bertviz_lite' has no attribute {name!r}")
