"""A randomized fault campaign against real vigild nodes (``python -m vigil.testing.cts``).

Pacemaker's CTS, compacted: N nodes in network namespaces (loopback without root), a
realistic CIB with fencing, a client writing all along, faults drawn at random with a
seed, and audits after every fault that take the agents' own state as the truth.

Modules: :mod:`.bed` (the cluster, power, the agents' truth), :mod:`.faults` (the table of
fault kinds), :mod:`.watch` (the sampler and the writing client), :mod:`.audits`,
:mod:`.campaign` (the loop), :mod:`.report` and :mod:`.cli`.
"""
