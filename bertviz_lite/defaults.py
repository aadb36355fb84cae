"""The page's defaults, in one place: the model a visit opens on, the tab, and the precisions the
app offers (the model's own attention first)."""

DEFAULT_MODEL = "minilm"
DEFAULT_VIEW = "head"
# What the app offers: the model's own attention, or int8 (faster on the CPU, attention moved).
PAGE_VARIANTS = {"fp32": "Exact (fp32)", "int8": "Fast (int8): approximate attention"}
DEFAULT_VARIANT = next(iter(PAGE_VARIANTS))
