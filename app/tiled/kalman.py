"""supervision's ByteTrack Kalman filter (constant velocity over x, y, aspect, height) for many tracks at once.

State per track ``[5, 4]``: rows position, velocity, var(position), cov(position, velocity), var(velocity);
columns x (centre), y (centre), a (w / h), h. The filter's F, Q, R and first covariance pair each coordinate
only with its own velocity, so supervision's 8x8 covariance is four independent 2x2 blocks and S = H P H^T + R
is diagonal: predict and update are a dozen element-wise operations over all tracks, no matrix product and no
LAPACK call (a threaded BLAS costs more than the maths for 4x4 matrices, and stalls on a busy machine). The
additions keep supervision's order, so the arithmetic is the same up to its Cholesky solve's rounding.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]

_POSITION = 1.0 / 20  # supervision's _std_weight_position
_VELOCITY = 1.0 / 160  # supervision's _std_weight_velocity
# Noise standard deviations are weight x height, except the aspect ratio's, which is fixed (column 2).
_Q_WEIGHTS = np.array([[_POSITION, _POSITION, 0.0, _POSITION], [_VELOCITY, _VELOCITY, 0.0, _VELOCITY]])
_Q_FIXED = np.square(np.array([[0.0, 0.0, 1e-2, 0.0], [0.0, 0.0, 1e-5, 0.0]]))
_R_WEIGHTS = np.array([_POSITION, _POSITION, 0.0, _POSITION])
_R_FIXED = np.square(np.array([0.0, 0.0, 1e-1, 0.0]))


def initiate(xyah: F64) -> F64:
    """The state of a new track from its first measurement (x, y, a, h)."""
    h = float(xyah[3])
    state = np.zeros((5, 4))
    state[0] = xyah
    state[2] = np.square((2 * _POSITION * h, 2 * _POSITION * h, 1e-2, 2 * _POSITION * h))
    state[4] = np.square((10 * _VELOCITY * h, 10 * _VELOCITY * h, 1e-5, 10 * _VELOCITY * h))
    return state


def predict(kf: F64) -> F64:
    """One frame ahead for states ``[T, 5, 4]``."""
    pos, vel, pp, pv, vv = kf[:, 0], kf[:, 1], kf[:, 2], kf[:, 3], kf[:, 4]
    noise = np.square(pos[:, 3, None, None] * _Q_WEIGHTS) + _Q_FIXED  # Q's position and velocity rows
    out = np.empty_like(kf)
    out[:, 0] = pos + vel
    out[:, 1] = vel
    out[:, 2] = (pp + pv) + (pv + vv) + noise[:, 0]  # F P F^T + Q, summed in supervision's order
    out[:, 3] = pv + vv
    out[:, 4] = vv + noise[:, 1]
    return out


def correct(kf: F64, xyah: F64) -> F64:
    """States ``[T, 5, 4]`` updated with measurements ``[T, 4]`` (x, y, a, h)."""
    pos, vel, pp, pv, vv = kf[:, 0], kf[:, 1], kf[:, 2], kf[:, 3], kf[:, 4]
    s = pp + (np.square(pos[:, 3, None] * _R_WEIGHTS) + _R_FIXED)  # innovation variance per axis
    k_pos, k_vel = pp / s, pv / s
    innovation = xyah - pos
    out = np.empty_like(kf)
    out[:, 0] = pos + k_pos * innovation
    out[:, 1] = vel + k_vel * innovation
    out[:, 2] = pp - k_pos * s * k_pos
    out[:, 3] = pv - k_pos * s * k_vel
    out[:, 4] = vv - k_vel * s * k_vel
    return out


def tlbr(kf: F64) -> F64:
    """Boxes (x1, y1, x2, y2) of states ``[T, 5, 4]``, computed as supervision's ``STrack.tlbr``."""
    out = kf[:, 0].copy()
    out[:, 2] *= out[:, 3]
    out[:, :2] -= out[:, 2:] / 2
    out[:, 2:] += out[:, :2]
    return out
