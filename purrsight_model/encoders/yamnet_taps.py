"""Multi-layer YAMNet embedding: pooled activations of two blocks before the classifier's.

YAMNet's last block (the tensor feeding its AudioSet classifier) is tuned to name sound
*classes*; what distinguishes one cat call context from another (pitch contour, roughness,
duration of a meow) is better kept a few blocks earlier. Logistic-regression probes on the
validation splits (train-only fit, mean+max pooled over patches) measured:

=====================  ===================  =====================
embedding              CatSound-10 acc      CatMeows macro-F1
=====================  ===================  =====================
block 14 (classifier)  0.75-0.77            0.54-0.58
block 13               0.81                 0.69-0.70
blocks 11 + 13         0.82-0.83            0.67-0.72
=====================  ===================  =====================

so the float graph's ``embedding`` is the global average of blocks 11 and 13 (of 14),
concatenated: [N, 512 + 1024]. Blocks are counted from the end as the pointwise (1x1)
convolutions, so the rule needs no node names. A graph with fewer pointwise blocks than the
taps need (a tiny test graph, a user's own export) keeps the classifier input instead.
"""

from __future__ import annotations

TAPS = (-4, -2)
"""Pointwise blocks tapped, counted from the last one (-1 feeds the classifier)."""


def weight_dims(node, graph) -> list[int] | None:  # (NodeProto, GraphProto)
    """Shape of the node's constant weight (its second input), or None when not a constant."""
    if len(node.input) < 2:
        return None
    weight = next((i for i in graph.initializer if i.name == node.input[1]), None)
    return None if weight is None else [int(d) for d in weight.dims]


def pointwise_blocks(graph) -> list[tuple[str, int]]:  # GraphProto -> [(tensor, channels)]
    """Output tensor (after its Relu, when there is one) and width of every 1x1 conv, in order."""
    consumers: dict[str, list] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    blocks = []
    for node in graph.node:
        dims = weight_dims(node, graph) if node.op_type == "Conv" else None
        if dims is None or len(dims) != 4 or dims[2:] != [1, 1]:
            continue
        out = node.output[0]
        relu = [n for n in consumers.get(out, []) if n.op_type == "Relu"]
        blocks.append((relu[0].output[0] if relu else out, dims[0]))
    return blocks


def tap_nodes(graph, out_name: str) -> tuple[list, int] | None:  # -> (NodeProto list, dim)
    """Nodes computing ``out_name`` [N, D] from the tapped blocks, or None without enough."""
    from onnx import helper

    blocks = pointwise_blocks(graph)
    if len(blocks) < max(-t for t in TAPS):
        return None
    nodes, pooled, dim = [], [], 0
    for k, t in enumerate(TAPS):
        tensor, channels = blocks[t]
        nodes.append(helper.make_node("GlobalAveragePool", [tensor], [f"tap{k}_gap"],
                                      name=f"tap{k}_gap"))
        nodes.append(helper.make_node("Flatten", [f"tap{k}_gap"], [f"tap{k}_flat"], axis=1,
                                      name=f"tap{k}_flat"))
        pooled.append(f"tap{k}_flat")
        dim += channels
    nodes.append(helper.make_node("Concat", pooled, [out_name], axis=1, name="embedding_taps"))
    return nodes, dim
