import math

import pytest

from fst.config import TrainConfig
from fst.schedule import learning_rate


def test_warmup_then_cosine_to_a_tenth_by_hand():
    train = TrainConfig(steps=4000, lr=0.002, warmup_steps=200, lr_schedule="cosine")
    assert learning_rate(0, train) == pytest.approx(0.002 / 200)
    assert learning_rate(99, train) == pytest.approx(0.001)
    assert learning_rate(199, train) == pytest.approx(0.002)
    assert learning_rate(200, train) == pytest.approx(0.002)  # the top of the cosine
    assert learning_rate(2100, train) == pytest.approx(0.002 * 0.55)  # half way: 0.1 + 0.9 * 0.5
    assert learning_rate(4000, train) == pytest.approx(0.0002)
    assert learning_rate(9000, train) == pytest.approx(0.0002)  # past the end (steps raised on resume): the floor
    quarter = 200 + 3800 // 4
    assert learning_rate(quarter, train) == pytest.approx(0.002 * (0.1 + 0.45 * (1 + math.cos(math.pi / 4))))


def test_constant_and_no_warmup():
    train = TrainConfig(steps=100, lr=0.003, warmup_steps=0, lr_schedule="constant")
    assert [learning_rate(s, train) for s in (0, 50, 99)] == [0.003, 0.003, 0.003]
    warm = TrainConfig(steps=100, lr=0.003, warmup_steps=10, lr_schedule="constant")
    assert learning_rate(4, warm) == pytest.approx(0.0015) and learning_rate(10, warm) == 0.003
