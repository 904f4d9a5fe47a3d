import pytest

from fst.devices import cpu_flags, fast_int8


def test_cpu_flags_are_read_from_cpuinfo(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nmodel name\t: Some CPU\nflags\t\t: fpu avx2 fma avx512_bf16\n\nflags : later\n")
    assert cpu_flags(cpuinfo) == {"fpu", "avx2", "fma", "avx512_bf16"}
    assert cpu_flags(tmp_path / "missing") == set()


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"avx2", "fma"}, (True, "the CPU has AVX2")),
        ({"avx2", "avx512_vnni"}, (True, "the CPU has AVX2 and AVX512-VNNI")),
        ({"asimd", "asimddp"}, (True, "the CPU has NEON dot product")),
        ({"sse4_2", "avx"}, (False, None)),
        (set(), (False, None)),
    ],
)  # fmt: skip
def test_int8_is_fast_only_with_8_bit_dot_products(flags, expected):
    fast, why = fast_int8(flags)
    assert fast == expected[0]
    assert why == expected[1] if fast else why.startswith("the CPU has neither AVX2 nor NEON dot products")


def test_a_gpu_is_looked_for_without_pytorch_and_pytorch_asked_only_where_signs_of_one_are(tmp_path, monkeypatch):
    import torch

    import fst.devices

    sign = tmp_path / "nvidiactl"
    monkeypatch.setattr(fst.devices, "NVIDIA_SIGNS", (str(sign),))
    monkeypatch.setattr(fst.devices.shutil, "which", lambda name: None)
    assert not fst.devices.gpu_present() and not fst.devices.torch_cuda()
    sign.touch()  # a sandbox that passes a GPU through shows its device files, not always /proc/driver/nvidia
    assert fst.devices.gpu_present()
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert fst.devices.torch_cuda()
    sign.unlink()
    assert not fst.devices.torch_cuda() and fst.devices.torch_cuda(asked=True)  # --device cuda asks PyTorch


def test_one_device_vocabulary():
    from fst.devices import is_device_name

    assert all(is_device_name(name) for name in ("auto", "cpu", "cuda", "cuda:0", "cuda:12", "mps"))
    assert not any(is_device_name(name) for name in ("gpu", "cuda:", "cuda:x", "CPU", "cuda:-1", ""))
