"""What people look at from a trial job: a thumbnail of each failed trial (the frame the policy
saw, cropped to the object, with the planned grasp drawn) and videos of recorded trials (GIF,
and MP4 where the ``video`` extra, imageio-ffmpeg, is installed)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..geometry import Grasp2D, Grasp3D
from ..storage import atomic_write

VIDEO_SIZE_PX = (320, 240)
VIDEO_FPS = 50                      # states recorded every 10 steps of 2 ms: real time


def planned_grasp_2d(rec: dict, setup) -> Grasp2D | None:
    """The executed grasp in the frame's pixels (the policy's own, or the oracle's projected)."""
    g = rec.get("grasp_px")
    if g is not None:
        return Grasp2D(tuple(g["center_xy_px"]), g["angle_rad"], g["width_px"], g["jaw_px"], g["depth_m"])
    gw = rec.get("grasp_world")
    if gw is None:
        return None
    frame = setup.frame
    grasp = Grasp3D(gw["center_m"], gw["axis"], gw["width_m"], "world")
    return grasp.to_2d(frame.intrinsics, frame.T_world_camera.inverse())


def write_failure_thumb(rec: dict, setup, path: Path) -> Path:
    """The frame around the object with the executed grasp (blue) and the outcome as title."""
    return write_frame_thumb(setup.frame, setup.object_mask, planned_grasp_2d(rec, setup),
                             f"{rec['object']} t{rec['trial']}: {rec['outcome']}", path)


def write_frame_thumb(frame, mask, grasp: Grasp2D | None, title: str, path: Path) -> Path:
    """A frame cropped around ``mask`` (without one: around the grasp) with ``grasp`` drawn in blue."""
    from ..viz.figures import PREDICTED, _axes_grid, draw_grasp_rectangles, finish_figure, frame_picture, object_crop
    img = frame_picture(frame)
    if mask is None and grasp is not None:
        mask = np.zeros(img.shape[:2], dtype=bool)
        c, r = (int(round(v)) for v in grasp.center_xy_px)
        half = int(max(grasp.width_px, 40))
        mask[max(r - half, 0):r + half, max(c - half, 0):c + half] = True
    ys, xs = object_crop(mask, img.shape[:2], margin=2.2 if grasp is None else 1.6, min_size_px=120)
    fig, axes = _axes_grid(1, 1, 3.0, 3.2)
    ax = axes[0]
    ax.imshow(img)
    if grasp is not None:
        draw_grasp_rectangles(ax, [grasp], PREDICTED, 2.0)
    ax.set_xlim(xs.start, xs.stop)
    ax.set_ylim(ys.stop, ys.start)
    ax.set_title(title, fontsize=8)
    return finish_figure(fig, path)


def write_trial_video(setup, frames: list, path: Path) -> Path:
    """A GIF of a recorded trial from an oblique camera (every recorded simulation state), and an
    MP4 beside it (same name, ``.mp4``) when imageio-ffmpeg is installed."""
    import mujoco
    from PIL import Image
    world = setup.world
    m, d = world.model, world.data
    w, h = VIDEO_SIZE_PX
    renderer = mujoco.Renderer(m, height=h, width=w)
    cam = mujoco.MjvCamera()
    cam.type = mujoco.mjtCamera.mjCAMERA_FREE
    cam.lookat[:] = (*setup.T_world_obj.translation_m[:2], 0.13)
    cam.distance, cam.azimuth, cam.elevation = 0.6, 135.0, -15.0
    images = []
    try:
        for qpos, mocap_pos, mocap_quat in frames:
            d.qpos[:] = qpos
            d.mocap_pos[:] = mocap_pos
            d.mocap_quat[:] = mocap_quat
            mujoco.mj_forward(m, d)
            renderer.update_scene(d, camera=cam)
            images.append(Image.fromarray(renderer.render()))
    finally:
        renderer.close()
    if not images:
        raise ValueError("no recorded states to make a video of")
    step_ms = int(round(1000 / VIDEO_FPS))
    try:
        import imageio_ffmpeg
    except ImportError:
        imageio_ffmpeg = None
    if imageio_ffmpeg is not None:
        atomic_write(Path(path).with_suffix(".mp4"), lambda p: _write_mp4(imageio_ffmpeg, p, images))
    return atomic_write(path, lambda p: images[0].save(p, format="GIF", save_all=True, append_images=images[1:],
                                                       duration=step_ms, loop=0))


def _write_mp4(imageio_ffmpeg, path, images) -> None:
    """H.264 at the recording's real-time rate (even frame sides, as the codec needs)."""
    w, h = images[0].size
    writer = imageio_ffmpeg.write_frames(str(path), (w - w % 2, h - h % 2), fps=VIDEO_FPS, codec="libx264",
                                         pix_fmt_out="yuv420p", output_params=["-f", "mp4"], quality=7)
    writer.send(None)
    for im in images:
        writer.send(np.ascontiguousarray(np.asarray(im)[:h - h % 2, :w - w % 2]))
    writer.close()
