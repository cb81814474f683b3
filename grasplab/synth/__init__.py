"""Generation pipelines: rendering jobs now; grasp labelling and dataset synthesis build on them."""
from .render_views import RenderJobConfig, RenderJobResult, preview_objects, run_render_job

__all__ = ["RenderJobConfig", "RenderJobResult", "preview_objects", "run_render_job"]
