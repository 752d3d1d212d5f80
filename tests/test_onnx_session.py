"""The onnxruntime sessions and input planes both detector networks share."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy.faces import blazeface_net, yunet_net
from imgproxy.faces.onnx_session import new_session, planes, sigmoid


def test_planes_put_each_channel_at_its_offset_on_zeros() -> None:
    rgb = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)  # 2 rows, 3 columns, R G B
    field = planes(rgb, 4, 5, top=1, left=2)
    assert field.shape == (1, 3, 4, 5) and field.dtype == np.float32
    for channel in range(3):
        assert (field[0, channel, 1:3, 2:5] == rgb[:, :, channel]).all()
    field[0, :, 1:3, 2:5] = 0
    assert not field.any()


def test_sessions_run_on_the_threads_asked_without_an_arena() -> None:
    """A session keeps no memory arena (its peak would stay with the worker) and runs on the
    threads it is given: one for MediaPipe's small input, two for YuNet's large ones."""
    for session, threads in ((blazeface_net.session(), 1), (yunet_net.session(2), 2)):
        options = session.get_session_options()
        assert options.intra_op_num_threads == threads
        assert not options.enable_cpu_mem_arena
    assert new_session(blazeface_net.graph(), 1).get_inputs()[0].shape == [1, 3, blazeface_net.SIDE, blazeface_net.SIDE]


def test_sigmoid_saturates_without_overflow() -> None:
    probabilities = sigmoid(np.array([-1000.0, 0.0, 2.0, 1000.0], np.float32))
    assert probabilities.tolist() == [pytest.approx(0.0, abs=1e-30), 0.5, pytest.approx(1 / (1 + np.exp(-2.0))), 1.0]
