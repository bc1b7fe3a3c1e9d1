from vigil.core.graph import Action, Transition
from vigil.core.transition import RunState, TransitionRun


def act(i, requires=(), kind="rsc", task="start"):
    return Action(id=i, kind=kind, key=f"r{i}_{task}_0", task=task, node="n1", rsc=f"r{i}",
                  requires=frozenset(requires))


def test_runs_in_dependency_order_with_pseudo_actions():
    g = Transition(actions=(act(1), act(2, [1]), act(3, [2], kind="pseudo"), act(4, [3])))
    run = TransitionRun(1, g)
    assert [a.id for a in run.step()] == [1]
    assert [a.id for a in run.result(1, True)] == [2]
    assert [a.id for a in run.result(2, True)] == [4], "pseudo 3 completes by itself"
    assert run.result(4, True) == [] and run.state is RunState.COMPLETE


def test_failure_drains_in_flight_then_aborts():
    g = Transition(actions=(act(1), act(2), act(3, [1])))
    run = TransitionRun(1, g)
    assert {a.id for a in run.step()} == {1, 2}
    assert run.result(1, False, "start failed") == []
    assert run.state is RunState.DRAINING, "action 2 is still running"
    run.result(2, True)
    assert run.state is RunState.ABORTED and run.abort_reason == "start failed"


def test_abort_without_in_flight_is_immediate():
    run = TransitionRun(1, Transition(actions=(act(1, [9]),)))
    run.abort("configuration changed")
    assert run.finished
