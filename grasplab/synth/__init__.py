"""Generation pipelines: render jobs and labelled dataset synthesis."""
from .dataset_job import SynthResult, run_synth
from .render_views import RenderJobConfig, RenderJobResult, preview_objects, run_render_job
from .units import SynthConfig

__all__ = ["RenderJobConfig", "RenderJobResult", "preview_objects", "run_render_job", "SynthConfig", "SynthResult",
           "run_synth"]
