"""Grasp quality: contact model, wrenches, Ferrari–Canny ε, robust Monte-Carlo labels."""
from .contacts import close_jaws
from .ferrari_canny import ferrari_canny, ferrari_canny_reference
from .robust import QualityConfig, QualityLabels, epsilon_at, robust_quality
from .wrenches import contact_wrenches

__all__ = ["close_jaws", "ferrari_canny", "ferrari_canny_reference", "QualityConfig",
           "QualityLabels", "epsilon_at", "robust_quality", "contact_wrenches"]
