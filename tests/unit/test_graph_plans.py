"""The graph runner's execution plans (rasa_speedups/graph_plans.py) give what Rasa's dask run
gives: the same outputs, every node after what it needs, inputs and missing inputs passed alike."""
import pytest
from rasa.engine.exceptions import GraphRunError
from rasa.engine.graph import GraphSchema, SchemaNode
from rasa.engine.runner.dask import DaskGraphRunner

import rasa_speedups
from rasa_speedups import graph_plans


@pytest.fixture(autouse=True, scope="module")
def installed():
    """The graph_plans speed-up, and nothing else, for this module's tests; Rasa's own code again afterwards."""
    with rasa_speedups.install_temporarily("graph_plans"):
        yield


class FakeNode:
    """Behaves like GraphNode.__call__: receives (name, output) tuples or bare names, returns a tuple."""

    def __init__(self, name, log, fail_with=None):
        self.name, self.log, self.fail_with = name, log, fail_with

    def __call__(self, *received):
        self.log.append(self.name)
        if self.fail_with:
            raise self.fail_with
        inputs = [item[1] if isinstance(item, tuple) else f"<missing {item}>" for item in received]
        return self.name, f"{self.name}({', '.join(map(str, inputs))})"


def node(*needs):
    return SchemaNode(needs={f"arg{i}": name for i, name in enumerate(needs)}, uses=object, fn="run",
                      constructor_name="load", config={})


# Shaped like the model's predict graph: an NLU chain and a policy branch sharing the domain.
SCHEMA = {
    "converter": node("__message__"),
    "normalizer": node("converter"),
    "tokenizer": node("normalizer"),
    "classifier": node("tokenizer"),
    "regex_handler": node("classifier", "domain_provider"),
    "domain_provider": node(),
    "rule_data": node(),
    "policy": node("rule_data", "domain_provider", "__tracker__"),
    "select_prediction": node("policy", "domain_provider", "__tracker__"),
}


def runner(fail=None):
    graph = DaskGraphRunner.__new__(DaskGraphRunner)
    graph._graph_schema = GraphSchema(SCHEMA)
    graph.log = []
    graph._instantiated_nodes = {name: FakeNode(name, graph.log, fail if name == "tokenizer" else None)
                                 for name in SCHEMA}
    return graph


def rasas_dask_run(graph, inputs, targets):
    import dask

    run_targets = targets if targets else graph._graph_schema.target_names
    run_graph = graph._build_dask_graph(graph._graph_schema.minimal_graph_schema(run_targets))
    for name, value in inputs.items():
        run_graph[name] = (name, value)
    return dict(dask.get(run_graph, run_targets))


@pytest.mark.parametrize("inputs, targets", [
    ({"__message__": ["halo"]}, ["regex_handler"]),
    ({"__tracker__": "tracker-1"}, ["select_prediction"]),
    ({"__message__": ["ya"], "__tracker__": "t"}, ["regex_handler", "select_prediction"]),
    ({}, ["select_prediction"]),   # the tracker was not given: the node gets its name, as with dask
])
def test_same_outputs_as_rasas_dask_run_and_every_node_after_its_needs(inputs, targets):
    ours, theirs = runner(), runner()
    assert graph_plans.run(ours, dict(inputs), list(targets)) == rasas_dask_run(theirs, dict(inputs), targets)
    assert sorted(ours.log) == sorted(theirs.log)
    for position, name in enumerate(ours.log):
        needed = [n for n in SCHEMA[name].needs.values() if n in SCHEMA]
        assert all(ours.log.index(n) < position for n in needed)


def test_the_plan_is_made_once_per_set_of_targets():
    graph = runner()
    for text in ("a", "b", "c"):
        result = graph_plans.run(graph, {"__message__": [text]}, ["regex_handler"])
        assert result["regex_handler"].startswith("regex_handler(classifier(tokenizer(normalizer(converter(")
        assert f"['{text}']" in result["regex_handler"]
    assert list(graph._execution_plans) == [("regex_handler",)]
    assert graph.log.count("converter") == 3 and graph.log.count("policy") == 0


def test_errors_are_raised_as_rasa_raises_them():
    with pytest.raises(GraphRunError):
        graph_plans.run(runner(fail=RuntimeError("boom")), {"__message__": ["x"]}, ["regex_handler"])
    with pytest.raises(ValueError):
        graph_plans.run(runner(fail=ValueError("bad")), {"__message__": ["x"]}, ["regex_handler"])
    with pytest.raises(GraphRunError):   # an input whose value is a node's name
        graph_plans.run(runner(), {"__message__": "converter"}, ["regex_handler"])


def test_installed_on_rasas_runner():
    assert DaskGraphRunner.run is graph_plans.run
