"""The scheduler's import graph stays acyclic even counting type-only imports.

``test_layering`` forbids runtime cycles; this is the stricter rule of the scheduler
package (see ``vigil/core/scheduler/ports.py``): the modules the assigner and the action
builder call out to are typed against protocols, so no import, ``if TYPE_CHECKING:``
blocks included, leads back up the pipeline.
"""

from __future__ import annotations

from .test_layering import MODULES, all_imports, cycles

PACKAGE = "vigil.core.scheduler"


def test_scheduler_has_no_cycles_even_with_type_only_imports():
    names = [m for m in MODULES if m == PACKAGE or m.startswith(PACKAGE + ".")]
    edges = {m: {t for t in all_imports(m) if t in names and t != m} for m in names}
    found = [" -> ".join(c) for c in cycles(edges)]
    assert found == [], "scheduler import cycles (type-only imports counted):\n" + "\n".join(
        found)


def test_helpers_never_name_the_assigner_or_the_action_builder():
    downstream = {"assign", "actions", "order", "fencing", "transition", "summary"}
    offenders = sorted(
        f"{m} imports {t}" for m in MODULES if m.startswith(PACKAGE + ".")
        and m.rsplit(".", 1)[1] not in downstream
        for t in all_imports(m) if t in (f"{PACKAGE}.assign", f"{PACKAGE}.actions"))
    assert offenders == [], "\n".join(offenders)
