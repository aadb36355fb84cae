"""Views: one module per tab, each a `View` (base.py) that draws an Analysis under a ViewState.

A new view is one module here and one line in REGISTRY; the app builds its tab, controls and
wiring from it.
"""

from .ablation import AblationView
from .atlas import AtlasView
from .base import Control, Output, UserError, View, ViewState
from .compare import CompareView
from .context_search import SearchView
from .embeddings import EmbeddingsView
from .explain import ExplainView
from .fill_mask import FillMaskView
from .formula import FormulaView
from .head import HeadView
from .head_importance import HeadImportanceView
from .mixing import MixingView
from .overview import OverviewView
from .probes import ProbesView
from .qk_space import QKView
from .share import ShareView

REGISTRY: tuple[View, ...] = (
    HeadView(),
    OverviewView(),
    EmbeddingsView(),
    AblationView(),
    HeadImportanceView(),
    ExplainView(),
    MixingView(),
    FillMaskView(),
    CompareView(),
    FormulaView(),
    AtlasView(),
    ProbesView(),
    SearchView(),
    QKView(),
    ShareView(),
)
VIEWS = {view.name: view for view in REGISTRY}
CONTROLS = {c.name: c for view in REGISTRY for c in view.controls}
NAMED = tuple(c for c in CONTROLS.values() if c.names)  # pickers whose choices an analysis names

__all__ = ["CONTROLS", "NAMED", "REGISTRY", "VIEWS", "Control", "Output", "UserError", "View", "ViewState"]
