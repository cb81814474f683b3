"""Contact wrenches for point contacts with Coulomb friction (soft fingers optional).

Follows Dex-Net's model: each contact's friction cone is approximated by m edges
f_k = n + μ (cos φ_k t₁ + sin φ_k t₂) (n the inward normal), scaled by the normal force
magnitude max(0, n · closing direction); torques are (c − com) × f times ``torque_scaling``;
a soft finger adds torsional wrenches ±π r² μ n · torque_scaling about the normal.
"""
from __future__ import annotations

import numpy as np


def tangent_bases(n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two unit tangents (K, 3) orthogonal to unit normals n (K, 3)."""
    helper = np.where(np.abs(n[:, :1]) < 0.9, np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]]))
    t1 = np.cross(n, helper)
    t1 /= np.linalg.norm(t1, axis=1, keepdims=True)
    t2 = np.cross(n, t1)
    return t1, t2


def contact_wrenches(contacts_m: np.ndarray, normals_out: np.ndarray, closing_dirs: np.ndarray,
                     com_m: np.ndarray, friction_coef: np.ndarray | float, num_cone_edges: int = 8,
                     soft_fingers: bool = True, finger_radius_m: float = 0.005,
                     torque_scaling: float = 1000.0, tangents: np.ndarray | None = None) -> np.ndarray:
    """Wrench sets (K, P, 6) for K grasps with C contacts each.

    contacts_m, normals_out, closing_dirs: (K, C, 3) (closing_dirs = direction each jaw pushes).
    ``tangents`` (K, C, 3) fixes where the cone's first edge points (default: from a world
    axis, which makes ε depend slightly on the world frame). P = C·m (+ 2·C with soft fingers).
    """
    K, C, _ = contacts_m.shape
    mu = np.broadcast_to(np.asarray(friction_coef, dtype=np.float64), (K,))
    n_in = -normals_out.reshape(-1, 3)
    if tangents is None:
        t1, t2 = tangent_bases(n_in)
    else:
        t1 = tangents.reshape(-1, 3)
        t2 = np.cross(n_in, t1)
    phi = 2 * np.pi * np.arange(num_cone_edges) / num_cone_edges
    mu_c = np.repeat(mu, C)[:, None, None]
    edges = n_in[:, None, :] + mu_c * (np.cos(phi)[None, :, None] * t1[:, None, :] +
                                       np.sin(phi)[None, :, None] * t2[:, None, :])      # (K·C, m, 3)
    mag = np.clip(np.einsum("ij,ij->i", n_in, closing_dirs.reshape(-1, 3)), 0.0, None)
    forces = edges * mag[:, None, None]
    arms = contacts_m.reshape(-1, 3) - np.asarray(com_m, dtype=np.float64)
    torques = np.cross(arms[:, None, :], forces) * torque_scaling
    w = np.concatenate([forces, torques], axis=2).reshape(K, C * num_cone_edges, 6)
    if soft_fingers:
        tors = (np.pi * finger_radius_m ** 2) * mu_c[:, 0] * n_in * mag[:, None] * torque_scaling   # (K·C, 3)
        tw = np.zeros((K * C, 2, 6))
        tw[:, 0, 3:] = tors
        tw[:, 1, 3:] = -tors
        w = np.concatenate([w, tw.reshape(K, 2 * C, 6)], axis=1)
    return w
