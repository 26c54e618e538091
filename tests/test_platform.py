"""btclib on Windows and macOS, proved on Linux: the whole package imports and measures
without the POSIX-only modules (each fallback has its test beside the module it proves,
with the stand-in of :mod:`tests.windows`)."""

from __future__ import annotations

from .windows import child


def test_btclib_imports_and_measures_without_posix_only_modules():
    script = """
        import math, sys
        for name in ("fcntl", "resource", "termios", "tty", "pty", "pwd", "grp"):
            sys.modules[name] = None
        import btclib, btclib.cli, btclib.files.sink, btclib.steps, btclib.files.capture, btclib.report
        import btclib.notebook, btclib.simulator.server, btclib.steps.interrupts, btclib.files.datafile
        from btclib.tools.bench import client, harness
        assert client.cpu_seconds() >= 0
        assert math.isnan(client.peak_rss_mb())
        assert client.rss_mb() > 0 or math.isnan(client.rss_mb())
        # Windows has no load average and no /proc.
        import builtins, os
        del os.getloadavg
        real_open = builtins.open
        def no_proc(file, *args, **kwargs):
            if str(file).startswith("/proc"):
                raise FileNotFoundError(2, "No such file or directory", str(file))
            return real_open(file, *args, **kwargs)
        builtins.open = no_proc
        machine = harness.machine()
        assert all(math.isnan(x) for x in machine["loadavg_start"]), machine
        assert math.isnan(client.rss_mb())
        print("ok")
    """
    proc = child(script)
    out, err = proc.communicate(timeout=120)
    assert out == "ok\n", err
