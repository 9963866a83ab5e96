"""Run the model's graph from an execution plan made once per set of targets.

Rasa 3.6's DaskGraphRunner, at every run (one NLU parse per message, one policy prediction per
action), cuts the minimal schema for the targets out of the full one, builds a dask graph from
it and lets dask's synchronous scheduler order and execute it: about 6% of the Rasa server's main
thread under load went to that bookkeeping (py-spy, docs/benchmark.md), for graphs of 3-13 nodes
that never change once the model is loaded. Here the order of the nodes needed for a set of
targets is worked out once (the same minimal schema, dependencies before dependants) and each
run calls the same GraphNode objects in that order, passing them what dask would: the output
tuples of the nodes they need, the `(name, value)` tuple of an input, or the bare name of an
input that was not given (GraphNode warns about it, as before). Errors surface as before:
RuntimeError becomes GraphRunError, everything else propagates unchanged.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner

Plan = Tuple[Tuple[Text, Any, Tuple[Text, ...]], ...]   # (node name, GraphNode, names of what it needs)


def execution_plan(runner: DaskGraphRunner, targets: Sequence[Text]) -> Plan:
    schema = runner._graph_schema.minimal_graph_schema(list(targets))
    ordered: List[Text] = []
    visiting: set = set()

    def visit(name: Text) -> None:
        if name in ordered or name not in schema.nodes:
            return
        if name in visiting:
            raise GraphRunError(f"The graph has a cycle through node '{name}'.")
        visiting.add(name)
        for needed in schema.nodes[name].needs.values():
            visit(needed)
        visiting.discard(name)
        ordered.append(name)

    for node_name in schema.nodes:
        visit(node_name)
    return tuple((name, runner._instantiated_nodes[name], tuple(schema.nodes[name].needs.values()))
                 for name in ordered)


def run(self: DaskGraphRunner, inputs: Optional[Dict[Text, Any]] = None,
        targets: Optional[List[Text]] = None) -> Dict[Text, Any]:
    run_targets = list(targets) if targets else list(self._graph_schema.target_names)
    plans = self.__dict__.setdefault("_execution_plans", {})
    key = tuple(run_targets)
    plan = plans.get(key)
    if plan is None:
        plan = plans[key] = execution_plan(self, run_targets)

    outputs: Dict[Text, Any] = {}
    for input_name, input_value in (inputs or {}).items():
        if isinstance(input_value, str) and any(input_value == name for name, _, _ in plan):
            raise GraphRunError(
                f"Input value '{input_value}' clashes with a node name. Make sure "
                f"that none of the input names passed to the `run` method are the "
                f"same as node names in the graph schema.")
        outputs[input_name] = (input_name, input_value)
    try:
        for name, node, needs in plan:
            outputs[name] = node(*(outputs.get(needed, needed) for needed in needs))
    except RuntimeError as error:
        raise GraphRunError("Error running runner.") from error
    return dict(outputs[target] for target in run_targets)


# The Rasa attributes install() replaces (rasa_speedups.install_temporarily puts them back).
REPLACES = ((DaskGraphRunner, "run"),)


def install() -> None:
    DaskGraphRunner.run = run
