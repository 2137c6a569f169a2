"""Motion stage on synthetic images whose true motion is known."""

import numpy as np
import pytest
from conftest import shift_image, textured_image

from mexp_lib.motion.flow import FlowParams, compute_flow, optical_strain, reference_pairs
from mexp_lib.motion.interpolate import interpolate_frames
from mexp_lib.motion.magnify import magnify_eulerian


@pytest.mark.parametrize("method,tol", [("tvl1", 0.15), ("dis", 0.3), ("farneback", 0.3)])
def test_flow_recovers_a_known_translation(method, tol):
    a = textured_image(96)
    b = shift_image(a, 1.5, -0.75)
    flow, _ = compute_flow(np.stack([a, b]).astype(np.float32), params=FlowParams(method), reference="onset")
    inner = flow[1, 16:-16, 16:-16]
    epe = np.linalg.norm(inner - [1.5, -0.75], axis=-1).mean()
    assert epe < tol, f"{method}: end-point error {epe:.3f} px"


def test_reference_modes():
    assert reference_pairs(3, "onset") == [(0, 0), (0, 1), (0, 2)]
    assert reference_pairs(3, "previous") == [(0, 0), (0, 1), (1, 2)]
    assert reference_pairs(4, "skip:2") == [(0, 2), (1, 3)]


def test_strain_of_a_linear_stretch_matches_the_closed_form():
    h, w = 40, 50
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a, b, c = 0.02, -0.01, 0.03  # u = a x + c y, v = b y  -> exx=a, eyy=b, exy=c/2
    flow = np.dstack([a * xx + c * yy, b * yy])
    expected = np.sqrt(a**2 + b**2 + 2 * (c / 2) ** 2)
    np.testing.assert_allclose(optical_strain(flow), expected, rtol=0.01)


def test_interpolated_midpoint_of_smooth_motion():
    a = textured_image(96, seed=1).astype(np.float32)
    frames = np.stack([a, shift_image(a, 1.6, 0.7)])
    mid = interpolate_frames(frames, np.array([0.5]))[0]
    truth = shift_image(a, 0.8, 0.35)
    mse = ((mid - truth)[8:-8, 8:-8] ** 2).mean()
    psnr = 10 * np.log10(255**2 / max(mse, 1e-12))
    lin = interpolate_frames(frames, np.array([0.5]), method="linear")[0]
    psnr_lin = 10 * np.log10(255**2 / ((lin - truth)[8:-8, 8:-8] ** 2).mean())
    assert psnr > 30 and psnr > psnr_lin + 3, (psnr, psnr_lin)


def test_magnification_amplifies_motion_in_the_band_only():
    a = textured_image(64, seed=2).astype(np.float32)
    fps, n = 30.0, 30
    t = np.arange(n) / fps
    frames = np.stack([shift_image(a, 0.2 * np.sin(2 * np.pi * 3.0 * ti), 0) for ti in t])
    mag = magnify_eulerian(frames, fps=fps, alpha=10, low_hz=2.0, high_hz=4.0, lambda_c=16, levels=4)
    out = magnify_eulerian(frames, fps=fps, alpha=10, low_hz=8.0, high_hz=12.0, lambda_c=16, levels=4)

    def amplitude(stack):
        f, _ = compute_flow(stack, params=FlowParams("tvl1"), reference="onset")
        u = f[:, 16:-16, 16:-16, 0].mean(axis=(1, 2))
        return (u.max() - u.min()) / 2

    base = amplitude(frames)
    assert amplitude(mag) > 2.0 * base
    assert amplitude(out) < 1.5 * base
