"""Tools around the recorder, not on its path: measuring, soaking, the C++ twin.

- :mod:`.bench` (``python -m btclib bench``: throughput, latency, memory, scale);
- :mod:`.soak` (``python -m btclib soak``: random faults, then nothing lost, nothing twice);
- :mod:`.btcrec` (build and run ``btcrec``, the C++ recorder, as the notebooks do).
"""

__all__: list[str] = []
