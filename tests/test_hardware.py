import logging

from nlp_judgments.tagging import hardware


def test_native_bf16_is_read_from_the_cpu_flags():
    assert hardware.cpu_has_native_bf16("processor: 0\nflags\t\t: fpu avx2 avx512f avx512_bf16\n")
    assert hardware.cpu_has_native_bf16("flags : fpu amx_bf16 amx_tile\n")
    assert not hardware.cpu_has_native_bf16("flags : fpu avx2 fma\n")
    assert not hardware.cpu_has_native_bf16("model name : avx512_bf16 in a name is not a flag\n")


def test_warns_only_where_bf16_would_be_emulated(monkeypatch, caplog):
    log = logging.getLogger("test")
    for native in (True, False):
        monkeypatch.setattr(hardware, "cpu_has_native_bf16", lambda: native)
        caplog.clear()
        hardware.warn_if_emulated_bf16(log, "--bf16", "fp32")
        assert ("--bf16 on a CPU without native bfloat16" in caplog.text) == (not native)
