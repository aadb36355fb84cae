"""bertviz_lite: look inside BERT-family models — attention, token vectors, predictions.

import bertviz_lite as bv
ex = bv.load("minilm")            # catalog name, checkpoint folder or hub id
r = ex.analyze("The cat sat on the mat.", pair=None, head_mask=None)
r.attentions.shape                # (layers, heads, T, T)
"""

from .analysis import Analysis
from .config import BertConfig, CheckpointError
from .model import LoadedModel, load

__all__ = ["Analysis", "BertConfig", "CheckpointError", "LoadedModel", "load"]
__version__ = "0.1.0"
