import pytest
import torch

from fst.errors import ConfigError
from fst.hardware import choose_compile, choose_precision, resolve_device

CPU = torch.device("cpu")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [({"avx2", "fma"}, "fp32"), ({"avx2", "avx512f"}, "fp32"), ({"avx512f", "avx512_bf16"}, "bf16"),
     ({"amx_bf16", "amx_tile"}, "bf16")],
)  # fmt: skip
def test_auto_precision_is_bf16_only_where_the_cpu_has_it(flags, expected):
    precision, why = choose_precision("auto", CPU, flags)
    assert precision == expected
    assert why.startswith("auto: ") and (("emulated" in why) == (expected == "fp32"))


def test_explicit_bf16_without_hardware_support_warns_once_and_is_kept():
    with pytest.warns(UserWarning, match="train.precision = bf16, but the CPU .* would be emulated: expect training"):
        assert choose_precision("bf16", CPU, {"avx2"})[0] == "bf16"
    assert choose_precision("fp32", CPU, {"avx512_bf16"}) == ("fp32", "asked for")


def test_auto_compile_only_for_runs_long_enough_to_repay_it():
    assert choose_compile("auto", CPU, 4)[0] is False
    assert choose_compile("auto", CPU, 499)[0] is False
    assert choose_compile("auto", CPU, 500)[0] is True
    assert choose_compile(True, CPU, 4) == (True, "asked for")
    assert choose_compile(False, CPU, 10**6) == (False, "asked for")


def test_device_names():
    assert resolve_device("cpu") == CPU
    if not torch.cuda.is_available():
        assert resolve_device("auto") == CPU
        with pytest.raises(ConfigError, match="train.device = 'cuda', but PyTorch sees no CUDA device here"):
            resolve_device("cuda")
        with pytest.raises(ConfigError, match="^--device cuda, but PyTorch sees no CUDA device here; use auto or cpu"):
            resolve_device("cuda", key="--device")  # a flag, as infer.py --optimize and distill.py name it


def test_cpu_capability_names_native_bf16():
    from fst.hardware import cpu_capability

    base = torch.backends.cpu.get_cpu_capability()
    assert cpu_capability({"avx2"}) == base
    assert cpu_capability({"avx512_bf16", "amx_bf16"}) == f"{base} + AVX512-BF16 + AMX"
