"""The evaluation picture: confusion matrix and harmful-vs-benign precision/recall curve (PNG)."""
from __future__ import annotations

from pathlib import Path

import numpy as np


def save_report_png(report: dict, scores: list[float], harmful: list[bool], path: str | Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")   # no display on servers and CI
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve

    labels = report["labels"]
    cm = np.asarray(report["confusion_matrix"])
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5.5))
    ax1.imshow(cm, cmap="Blues")
    ax1.set_xticks(range(len(labels)), labels, rotation=35, ha="right")
    ax1.set_yticks(range(len(labels)), labels)
    ax1.set_xlabel("predicted")
    ax1.set_ylabel("true")
    ax1.set_title(f"Confusion matrix (n={report['n']})")
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax1.text(j, i, str(cm[i, j]), ha="center", va="center",
                     color="white" if cm[i, j] > cm.max() / 2 else "black", fontsize=9)
    if any(harmful) and not all(harmful):
        precision, recall, _ = precision_recall_curve(harmful, scores)
        ax2.plot(recall, precision)
    b = report["binary"]
    ax2.scatter([b["recall"]], [b["precision"]], color="red", zorder=3, label="operating threshold")
    ax2.set_xlim(0, 1.01)
    ax2.set_ylim(0, 1.01)
    ax2.set_xlabel("recall (harmful)")
    ax2.set_ylabel("precision (harmful)")
    ax2.set_title(f"Harmful vs benign: F1 {b['f1']:.3f}")
    ax2.legend(loc="lower left")
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
