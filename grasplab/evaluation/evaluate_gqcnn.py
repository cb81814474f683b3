"""A trained GQ-CNN as a classifier on a GQ-CNN tensor dataset (e.g. the crops of held-out objects):
accuracy, precision, recall, average precision and ROC AUC, with the validation figure."""
from __future__ import annotations

from pathlib import Path

from ..storage import atomic_write_json, run_metadata
from .classification import ClassificationReport, classification_report


def evaluate_gqcnn_tensors(model_path: str | Path, data: str | Path, threshold: float | None = None,
                           out_dir: str | Path | None = None) -> ClassificationReport:
    """Scores every datapoint of ``data``; labels use ``threshold`` or, by default, the one the
    model was trained with (so train and test agree on what a positive is)."""
    from ..datasets.gqcnn_arrays import load_arrays
    from ..models import load_model
    model = load_model(model_path, expect="gqcnn")
    thr = threshold if threshold is not None else model.metadata.get("threshold")
    arrays, thr, _ = load_arrays(data, thr)
    prob = model.predict_proba_batched(arrays.crops_m, arrays.depth_m)
    rep = classification_report(prob, arrays.label)
    if out_dir is not None:
        from .gqcnn_figures import save_gqcnn_report
        out = Path(out_dir)
        atomic_write_json(out / "evaluation.json", {**run_metadata({"model": str(model_path), "data": str(data),
                                                                    "threshold": thr}), **rep.to_dict()})
        save_gqcnn_report(prob, arrays, out / "gqcnn.png",
                          title=f"GQ-CNN on {Path(data).name}: accuracy {rep.accuracy:.1%}, AP "
                                f"{rep.average_precision:.3f}, ROC AUC {rep.roc_auc:.3f} ({rep.n} grasps)")
    return rep
