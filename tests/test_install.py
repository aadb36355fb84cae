"""`pip install -e .` makes the library importable from any folder (issue 28: `import
bertviz_lite` failed outside the repository root)."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_an_editable_install_imports_from_another_folder(tmp_path):
    prefix, elsewhere = tmp_path / "prefix", tmp_path / "elsewhere"
    elsewhere.mkdir()
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--editable", str(ROOT), "--prefix", str(prefix)],
                   check=True, capture_output=True, timeout=300)  # fmt: skip
    site = sysconfig.get_path("purelib", vars={"base": str(prefix), "platbase": str(prefix)})
    probe = (f"import site; site.addsitedir({site!r}); import bertviz_lite as bv; "
             "print(bv.__file__); print(','.join(bv.catalog.names()))")  # fmt: skip
    shown = subprocess.run([sys.executable, "-I", "-c", probe], cwd=elsewhere, check=True,
                           capture_output=True, text=True, timeout=120).stdout.split("\n")  # fmt: skip
    assert Path(shown[0]) == ROOT / "bertviz_lite" / "__init__.py"
    assert "minilm" in shown[1].split(",")  # the catalog reads models/ from the checkout
