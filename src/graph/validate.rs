//! Checks a pipeline before grouping and indexes its graph: the pipeline exists and has nodes,
//! node names are unique, no dataset has two producers, no cycle. O(nodes + edges) apart from
//! the heap of the topological sort (O(n log n)), which keeps Kedro's node order where it can.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::graph::snapshot::{base_dataset, is_param, NodeDef, Snapshot};
use crate::graph::GraphError;

/// A producer → consumer link through one dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge<'a> {
    pub from: usize,
    pub to: usize,
    /// The dataset's base name (transcoding `@…` stripped).
    pub dataset: &'a str,
    /// The name the producer writes it under (transcoding included): its catalog entry.
    pub written: &'a str,
}

/// A validated pipeline: its nodes, the links between them and a topological order.
#[derive(Debug)]
pub(crate) struct NodeGraph<'a> {
    pub nodes: &'a [NodeDef],
    /// Node indices, every node after its producers; ties keep the snapshot's order.
    pub order: Vec<usize>,
    pub edges: Vec<Edge<'a>>,
}

/// Validate `pipeline` of `snapshot` and index its graph.
pub(crate) fn check<'a>(
    snapshot: &'a Snapshot,
    pipeline: &str,
) -> Result<NodeGraph<'a>, GraphError> {
    let def = snapshot
        .pipelines
        .get(pipeline)
        .ok_or_else(|| unknown_pipeline(snapshot, pipeline))?;
    let nodes = def.nodes.as_slice();
    if nodes.is_empty() {
        return Err(bad(pipeline, PipelineProblem::Empty));
    }

    let mut by_name: HashMap<&str, usize> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        if by_name.insert(node.name.as_str(), i).is_some() {
            return Err(bad(
                pipeline,
                PipelineProblem::DuplicateNode {
                    node: node.name.clone(),
                },
            ));
        }
    }

    // Base dataset name → (producing node, the name it writes, transcoding included).
    let mut producer: HashMap<&str, (usize, &str)> = HashMap::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        for out in &node.outputs {
            if let Some((other, _)) = producer.insert(base_dataset(out), (i, out.as_str())) {
                if other != i {
                    return Err(bad(
                        pipeline,
                        PipelineProblem::TwoProducers {
                            dataset: base_dataset(out).to_string(),
                            first: nodes[other].name.clone(),
                            second: node.name.clone(),
                        },
                    ));
                }
            }
        }
    }

    let mut edges = Vec::new();
    for (i, node) in nodes.iter().enumerate() {
        for input in &node.inputs {
            if is_param(input) {
                continue;
            }
            let base = base_dataset(input);
            if let Some(&(p, written)) = producer.get(base) {
                edges.push(Edge {
                    from: p,
                    to: i,
                    dataset: base,
                    written,
                });
            }
        }
    }

    let pairs: Vec<(usize, usize)> = edges.iter().map(|e| (e.from, e.to)).collect();
    let order = toposort(nodes.len(), &pairs).map_err(|cycle| {
        let via: HashMap<(usize, usize), &str> =
            edges.iter().map(|e| ((e.from, e.to), e.dataset)).collect();
        bad(
            pipeline,
            PipelineProblem::Cycle {
                cycle: describe_cycle(&cycle, |i| format!("`{}`", nodes[i].name), &via),
            },
        )
    })?;

    Ok(NodeGraph {
        nodes,
        order,
        edges,
    })
}

fn unknown_pipeline(snapshot: &Snapshot, pipeline: &str) -> GraphError {
    GraphError::UnknownPipeline {
        pipeline: pipeline.to_string(),
        known: snapshot
            .pipeline_names()
            .into_iter()
            .map(str::to_string)
            .collect(),
    }
}

fn bad(pipeline: &str, problem: PipelineProblem) -> GraphError {
    GraphError::BadPipeline {
        pipeline: pipeline.to_string(),
        problem,
    }
}

/// What is wrong with a pipeline's definition (the message follows "pipeline `<name>`").
#[derive(Debug, thiserror::Error)]
pub enum PipelineProblem {
    #[error(
        " has no nodes: there is nothing to run; check its definition in the project's pipeline \
         registry"
    )]
    Empty,
    #[error(
        " has two nodes named `{node}`: node names must be unique; give one of them another \
         `name=` in its `node(...)`"
    )]
    DuplicateNode { node: String },
    #[error(
        ": dataset `{dataset}` is produced by two nodes, `{first}` and `{second}`: a dataset must \
         have one producer; rename one of the outputs"
    )]
    TwoProducers {
        dataset: String,
        first: String,
        second: String,
    },
    /// `cycle` names the nodes in edge order and the datasets between them.
    #[error(
        " has a cycle: {cycle}; a node cannot depend on its own outputs, break the loop by \
         renaming a dataset"
    )]
    Cycle { cycle: String },
}

/// The message of [`GraphError::UnknownPipeline`]: a suggestion when a name is close, and as
/// many of the `known` names as fit a line.
pub(crate) fn unknown_pipeline_message(pipeline: &str, known: &[String]) -> String {
    if known.is_empty() {
        return format!(
            "unknown pipeline `{pipeline}`: the project registers no pipelines; check \
             `register_pipelines()` in pipeline_registry.py"
        );
    }
    let suggestion = crate::text::did_you_mean(pipeline, known.iter().map(String::as_str))
        .map(|n| format!(" (did you mean `{n}`?)"))
        .unwrap_or_default();
    // A project may register dozens of pipelines: the line names as many as fit (at least
    // one, at most five), then counts the rest.
    const LISTED: usize = 5;
    const LINE: usize = 190;
    let listed: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
    let list = |k: usize| -> String {
        if k >= listed.len() {
            listed.join(", ")
        } else {
            format!("{} and {} more", listed[..k].join(", "), listed.len() - k)
        }
    };
    let fixed =
        format!("unknown pipeline `{pipeline}`{suggestion}: the project has ; pass one with `-p`");
    let mut k = listed.len().min(LISTED);
    while k > 1 && fixed.chars().count() + list(k).chars().count() > LINE {
        k -= 1;
    }
    let shown = list(k);
    format!(
        "unknown pipeline `{pipeline}`{suggestion}: the project has {shown}; pass one with `-p`"
    )
}

/// Topological order of `n` vertices linked by `edges` (from, to; duplicates allowed). Among
/// the vertices ready at a time the smallest index goes first, so an order that already is
/// topological is kept. `Err` holds a cycle: vertices in edge direction, first repeated last.
pub(crate) fn toposort(n: usize, edges: &[(usize, usize)]) -> Result<Vec<usize>, Vec<usize>> {
    let (succ_start, succ) = adjacency(n, edges.iter().copied());
    let mut indeg = vec![0usize; n];
    for &(_, t) in edges {
        indeg[t] += 1;
    }

    let mut ready: BinaryHeap<Reverse<usize>> =
        (0..n).filter(|&i| indeg[i] == 0).map(Reverse).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(Reverse(v)) = ready.pop() {
        order.push(v);
        for &t in &succ[succ_start[v]..succ_start[v + 1]] {
            indeg[t] -= 1;
            if indeg[t] == 0 {
                ready.push(Reverse(t));
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }

    // Every vertex left has a predecessor that is also left: walk predecessors until one
    // repeats; the walk from its first visit is a cycle (in reverse).
    let mut pred: Vec<Option<usize>> = vec![None; n];
    for &(f, t) in edges {
        if indeg[f] > 0 && indeg[t] > 0 && pred[t].is_none() {
            pred[t] = Some(f);
        }
    }
    let start = (0..n).find(|&i| indeg[i] > 0).expect("a vertex is left");
    let mut seen_at: HashMap<usize, usize> = HashMap::new();
    let mut walk = Vec::new();
    let mut v = start;
    loop {
        if let Some(&at) = seen_at.get(&v) {
            let mut cycle: Vec<usize> = walk[at..].to_vec();
            cycle.reverse();
            cycle.push(cycle[0]);
            return Err(cycle);
        }
        seen_at.insert(v, walk.len());
        walk.push(v);
        v = pred[v].expect("a vertex left in a cycle has a predecessor left");
    }
}

/// Strongly connected components (Kosaraju, iterative): a component id per vertex.
pub(crate) fn strongly_connected(n: usize, edges: &[(usize, usize)]) -> Vec<usize> {
    let (fwd_start, fwd) = adjacency(n, edges.iter().copied());
    let (rev_start, rev) = adjacency(n, edges.iter().map(|&(f, t)| (t, f)));

    let mut visited = vec![false; n];
    let mut finished = Vec::with_capacity(n);
    let mut stack: Vec<(usize, usize)> = Vec::new();
    for s in 0..n {
        if visited[s] {
            continue;
        }
        visited[s] = true;
        stack.push((s, fwd_start[s]));
        while let Some(top) = stack.last_mut() {
            let v = top.0;
            if top.1 < fwd_start[v + 1] {
                let w = fwd[top.1];
                top.1 += 1;
                if !visited[w] {
                    visited[w] = true;
                    stack.push((w, fwd_start[w]));
                }
            } else {
                finished.push(v);
                stack.pop();
            }
        }
    }

    let mut comp = vec![usize::MAX; n];
    let mut count = 0;
    let mut todo = Vec::new();
    for &s in finished.iter().rev() {
        if comp[s] != usize::MAX {
            continue;
        }
        comp[s] = count;
        todo.push(s);
        while let Some(v) = todo.pop() {
            for &w in &rev[rev_start[v]..rev_start[v + 1]] {
                if comp[w] == usize::MAX {
                    comp[w] = count;
                    todo.push(w);
                }
            }
        }
        count += 1;
    }
    comp
}

/// Compressed adjacency lists: the successors of `v` are `adj[start[v]..start[v + 1]]`.
fn adjacency(
    n: usize,
    edges: impl Iterator<Item = (usize, usize)> + Clone,
) -> (Vec<usize>, Vec<usize>) {
    let mut start = vec![0usize; n + 1];
    for (f, _) in edges.clone() {
        start[f + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let mut adj = vec![0usize; start[n]];
    for (f, t) in edges {
        adj[fill[f]] = t;
        fill[f] += 1;
    }
    (start, adj)
}

/// `a -[ds]-> b -[ds]-> a` for a cycle from `toposort`; a long cycle is shortened in the
/// middle so the message stays one readable line.
pub(crate) fn describe_cycle(
    cycle: &[usize],
    name: impl Fn(usize) -> String,
    via: &HashMap<(usize, usize), &str>,
) -> String {
    const SHOWN: usize = 8;
    let hops = cycle.len() - 1;
    let mut s = name(cycle[0]);
    for (k, w) in cycle.windows(2).enumerate() {
        if hops > SHOWN && k >= SHOWN / 2 && k < hops - SHOWN / 2 {
            if k == SHOWN / 2 {
                s.push_str(&format!(" -> … ({} more) …", hops - SHOWN));
            }
            continue;
        }
        let ds = via.get(&(w[0], w[1])).copied().unwrap_or("?");
        s.push_str(&format!(" -[{ds}]-> {}", name(w[1])));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::snapshot::{PipelineDef, ProjectInfo, SNAPSHOT_FORMAT, SNAPSHOT_VERSION};

    fn node(name: &str, inputs: &[&str], outputs: &[&str]) -> NodeDef {
        NodeDef {
            name: name.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            tags: vec![],
            namespace: None,
        }
    }

    fn snap(pipelines: &[(&str, Vec<NodeDef>)]) -> Snapshot {
        Snapshot {
            format: SNAPSHOT_FORMAT.into(),
            version: SNAPSHOT_VERSION,
            project: ProjectInfo {
                name: "p".into(),
                package: None,
                kedro_version: "1.0.0".into(),
            },
            env: None,
            pipelines: pipelines
                .iter()
                .map(|(n, nodes)| {
                    (
                        n.to_string(),
                        PipelineDef {
                            nodes: nodes.clone(),
                        },
                    )
                })
                .collect(),
            datasets: Default::default(),
            parameters: serde_json::json!({}),
        }
    }

    fn err(s: &Snapshot, p: &str) -> String {
        check(s, p).unwrap_err().to_string()
    }

    #[test]
    fn unknown_pipeline_lists_available_and_suggests() {
        let s = snap(&[
            ("data_science", vec![node("a", &[], &["x"])]),
            ("__default__", vec![node("a", &[], &["x"])]),
        ]);
        let e = err(&s, "data_scince");
        assert!(e.contains("unknown pipeline `data_scince`"), "{e}");
        assert!(e.contains("did you mean `data_science`?"), "{e}");
        assert!(e.contains("`__default__`, `data_science`"), "{e}");
        assert!(!err(&s, "zzz").contains("did you mean"));

        let many: Vec<(String, Vec<NodeDef>)> = (0..40)
            .map(|i| {
                (
                    format!("pipeline_number_{i:02}"),
                    vec![node("a", &[], &["x"])],
                )
            })
            .collect();
        let many: Vec<(&str, Vec<NodeDef>)> =
            many.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
        let e = err(&snap(&many), "zzz");
        assert!(e.chars().count() <= 200, "{} chars: {e}", e.len());
        assert!(e.contains("and 3"), "{e}");
    }

    #[test]
    fn duplicate_node_names_are_rejected() {
        let s = snap(&[("p", vec![node("a", &[], &["x"]), node("a", &["x"], &["y"])])]);
        let e = err(&s, "p");
        assert!(e.contains("two nodes named `a`"), "{e}");
    }

    #[test]
    fn dataset_with_two_producers_is_rejected_even_transcoded() {
        let s = snap(&[(
            "p",
            vec![node("a", &[], &["x@pandas"]), node("b", &[], &["x@spark"])],
        )]);
        let e = err(&s, "p");
        assert!(
            e.contains("dataset `x` is produced by two nodes, `a` and `b`"),
            "{e}"
        );
    }

    #[test]
    fn cycle_is_named_with_its_path() {
        let s = snap(&[(
            "p",
            vec![
                node("a", &["z"], &["x"]),
                node("b", &["x"], &["y"]),
                node("c", &["y"], &["z"]),
                node("d", &["in"], &["out"]),
            ],
        )]);
        let e = err(&s, "p");
        assert!(e.contains("has a cycle"), "{e}");
        // The path is closed and follows the datasets, whichever node it starts from.
        let path = e
            .split("cycle: ")
            .nth(1)
            .unwrap()
            .split(';')
            .next()
            .unwrap();
        let rot = [
            "`a` -[x]-> `b` -[y]-> `c` -[z]-> `a`",
            "`b` -[y]-> `c` -[z]-> `a` -[x]-> `b`",
            "`c` -[z]-> `a` -[x]-> `b` -[y]-> `c`",
        ];
        assert!(rot.contains(&path), "{path}");
    }

    #[test]
    fn self_loop_is_a_cycle() {
        let s = snap(&[("p", vec![node("a", &["x"], &["x"])])]);
        assert!(err(&s, "p").contains("`a` -[x]-> `a`"));
    }

    #[test]
    fn params_and_transcoding_are_handled() {
        let s = snap(&[(
            "p",
            vec![
                node("b", &["x@spark", "params:k", "parameters"], &["y"]),
                node("a", &["raw"], &["x@pandas"]),
            ],
        )]);
        let g = check(&s, "p").unwrap();
        assert_eq!(g.order, vec![1, 0], "a produces x, so it goes first");
        assert_eq!(
            g.edges,
            vec![Edge {
                from: 1,
                to: 0,
                dataset: "x",
                written: "x@pandas"
            }]
        );
    }

    #[test]
    fn toposort_keeps_an_order_that_is_already_topological() {
        assert_eq!(toposort(4, &[(0, 2), (1, 3)]).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(toposort(3, &[(2, 0), (2, 1)]).unwrap(), vec![2, 0, 1]);
    }

    #[test]
    fn empty_pipeline_is_an_error() {
        let s = snap(&[("p", vec![])]);
        assert!(err(&s, "p").contains("has no nodes"));
    }
}
