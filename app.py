"""Entry point: `python app.py` locally, and the app_file of the Hugging Face Space."""

import os

# NumPy's BLAS threads would only fight onnxruntime's for the same cores: the matrices NumPy
# sees here (PCA of one sentence) are tiny. Set before anything imports NumPy.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from bertviz_lite.ui import main

if __name__ == "__main__":
    main()
