//! Merge strategies: turn a pipeline's nodes into tasks (pods).

use serde::Serialize;

use crate::config::MergeStrategy;
use crate::graph::snapshot::NodeDef;

/// A pipeline after grouping: what the compilers render.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TaskGraph {
    /// Kedro pipeline name.
    pub pipeline: String,
    pub strategy: MergeStrategy,
    /// Tasks in a topological order (every task after the tasks it depends on).
    pub tasks: Vec<Task>,
    /// Datasets produced in one task and consumed in another.
    pub crossing: Vec<CrossingDataset>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Task {
    /// Stable, readable name (a node's name, a group's name); sanitised by the compiler.
    pub name: String,
    /// The task's nodes in Kedro's topological order.
    pub nodes: Vec<NodeDef>,
    /// Names of the tasks this one runs after.
    pub depends_on: Vec<String>,
    /// True when the task runs the whole pipeline (`full`): no `--nodes` filter.
    pub whole_pipeline: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossingDataset {
    pub dataset: String,
    pub from_task: String,
    pub to_tasks: Vec<String>,
    /// A MemoryDataset crossing pods: it will not survive at run time.
    pub memory: bool,
}

// ---------------------------------------------------------------------------------------------
// The algorithm: assign every node a group, contract the node graph into the task graph, check
// it is acyclic, name the tasks, list the datasets that cross tasks. O(nodes + edges).

use std::collections::{HashMap, HashSet};

use crate::graph::snapshot::Snapshot;
use crate::graph::validate::{self, describe_cycle, toposort, NodeGraph};
use crate::graph::{GraphError, GroupOptions, Grouped};

/// What a group is called before names are made unique.
enum GroupName {
    /// A lone node: the task takes the node's name.
    Node(usize),
    /// A named group (tag, namespace, component, whole pipeline).
    Named(String),
}

/// Validate `pipeline` and group its nodes into tasks with `strategy`.
pub fn group(
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<Grouped, GraphError> {
    let graph = validate::check(snapshot, pipeline)?;
    let (group_of, names) = assign(&graph, snapshot, pipeline, strategy, opts)?;
    build(&graph, snapshot, pipeline, strategy, opts, &group_of, names)
}

/// Each node's group id, and the groups' names. Group ids are numbered in the order of their
/// first node in the topological order, so sorting tasks by id follows Kedro's order.
fn assign(
    graph: &NodeGraph<'_>,
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<(Vec<usize>, Vec<GroupName>), GraphError> {
    let n = graph.nodes.len();
    // Key of each node's group: None = alone.
    let keys: Vec<Option<String>> = match strategy {
        MergeStrategy::None => vec![None; n],
        MergeStrategy::Full => vec![Some(pipeline.to_string()); n],
        MergeStrategy::Tags => graph
            .nodes
            .iter()
            .map(|node| group_tag(node, &opts.tag_prefix))
            .collect::<Result<_, _>>()?,
        MergeStrategy::Namespace => graph
            .nodes
            .iter()
            .map(|node| {
                node.namespace
                    .as_deref()
                    .and_then(|ns| ns.split('.').next())
                    .filter(|ns| !ns.is_empty())
                    .map(str::to_string)
            })
            .collect(),
        MergeStrategy::Memory => memory_components(graph, snapshot),
    };

    let mut group_of = vec![usize::MAX; n];
    let mut names = Vec::new();
    let mut by_key: HashMap<&str, usize> = HashMap::new();
    for &i in &graph.order {
        group_of[i] = match &keys[i] {
            None => {
                names.push(GroupName::Node(i));
                names.len() - 1
            }
            Some(key) => *by_key.entry(key.as_str()).or_insert_with(|| {
                names.push(GroupName::Named(key.clone()));
                names.len() - 1
            }),
        };
    }
    Ok((group_of, names))
}

/// The group a node's tags put it in (`<prefix><name>`), if any.
fn group_tag(node: &NodeDef, prefix: &str) -> Result<Option<String>, GraphError> {
    let mut found: Vec<&str> = node
        .tags
        .iter()
        .filter(|t| t.starts_with(prefix))
        .map(String::as_str)
        .collect();
    found.sort_unstable();
    found.dedup();
    match found.as_slice() {
        [] => Ok(None),
        [tag] => {
            let name = &tag[prefix.len()..];
            if name.is_empty() {
                return Err(GraphError::Invalid(format!(
                    "node `{}` has the tag `{tag}` with no group name after `{prefix}`: \
                     name the group, e.g. `{prefix}training`",
                    node.name
                )));
            }
            Ok(Some(name.to_string()))
        }
        many => Err(GraphError::Invalid(format!(
            "node `{}` has {} group tags ({}): a node can be in one group only; keep one of them",
            node.name,
            many.len(),
            many.iter()
                .map(|t| format!("`{t}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Connected components over MemoryDataset links (union-find); a node alone keeps its name,
/// a component is named after its nodes' common namespace, else its first node.
fn memory_components(graph: &NodeGraph<'_>, snapshot: &Snapshot) -> Vec<Option<String>> {
    let n = graph.nodes.len();
    let mut parent: Vec<usize> = (0..n).collect();
    fn find(parent: &mut [usize], mut v: usize) -> usize {
        while parent[v] != v {
            parent[v] = parent[parent[v]];
            v = parent[v];
        }
        v
    }
    for e in &graph.edges {
        let (_, written) = graph.producer[e.dataset];
        if snapshot.is_memory(written) {
            let (a, b) = (find(&mut parent, e.from), find(&mut parent, e.to));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in &graph.order {
        let root = find(&mut parent, i);
        members.entry(root).or_default().push(i);
    }
    let mut keys = vec![None; n];
    for nodes in members.values() {
        if nodes.len() < 2 {
            continue;
        }
        let name = common_namespace(nodes.iter().map(|&i| &graph.nodes[i]))
            .unwrap_or_else(|| format!("{}_group", graph.nodes[nodes[0]].name));
        for &i in nodes {
            keys[i] = Some(name.clone());
        }
    }
    keys
}

/// The longest dotted namespace prefix all nodes share, if any.
fn common_namespace<'a>(mut nodes: impl Iterator<Item = &'a NodeDef>) -> Option<String> {
    let first = nodes.next()?.namespace.as_deref()?;
    let mut common: Vec<&str> = first.split('.').collect();
    for node in nodes {
        let parts: Vec<&str> = node.namespace.as_deref()?.split('.').collect();
        let same = common
            .iter()
            .zip(&parts)
            .take_while(|(a, b)| a == b)
            .count();
        common.truncate(same);
        if common.is_empty() {
            return None;
        }
    }
    Some(common.join("."))
}

fn build(
    graph: &NodeGraph<'_>,
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
    group_of: &[usize],
    names: Vec<GroupName>,
) -> Result<Grouped, GraphError> {
    let g = names.len();

    // Task links, each once, with a dataset that makes it (for cycle messages).
    let mut via: HashMap<(usize, usize), &str> = HashMap::new();
    let mut links = Vec::new();
    for e in &graph.edges {
        let (a, b) = (group_of[e.from], group_of[e.to]);
        if a != b && !via.contains_key(&(a, b)) {
            via.insert((a, b), e.dataset);
            links.push((a, b));
        }
    }

    let task_name = |t: usize| match &names[t] {
        GroupName::Node(i) => format!("`{}`", graph.nodes[*i].name),
        GroupName::Named(name) => format!("group `{name}`"),
    };
    let order = toposort(g, &links).map_err(|cycle| {
        let hint = match strategy {
            MergeStrategy::Tags => {
                "a node outside a group runs after one member and before another: tag it into \
                 the group too, or split the group"
            }
            MergeStrategy::Namespace => {
                "a node outside the namespace runs between two of its nodes: move it into the \
                 namespace, or use another merge strategy"
            }
            _ => {
                "nodes linked by MemoryDatasets have a persisted dataset path between them: \
                 add catalog entries for the MemoryDatasets, or use `--merge-strategy full`"
            }
        };
        GraphError::Invalid(format!(
            "grouping pipeline `{pipeline}` with merge strategy `{}` makes a cycle between \
             tasks: {}; {hint}",
            strategy.as_str(),
            describe_cycle(&cycle, task_name, &via)
        ))
    })?;
    let position: Vec<usize> = {
        let mut p = vec![0; g];
        for (at, &t) in order.iter().enumerate() {
            p[t] = at;
        }
        p
    };

    // Unique names: lone nodes keep theirs (unique already); a group whose name is taken gets
    // `-2`, `-3`, … in task order.
    let mut taken: HashSet<String> = names
        .iter()
        .filter_map(|n| match n {
            GroupName::Node(i) => Some(graph.nodes[*i].name.clone()),
            GroupName::Named(_) => None,
        })
        .collect();
    let mut final_names = vec![String::new(); g];
    for &t in &order {
        final_names[t] = match &names[t] {
            GroupName::Node(i) => graph.nodes[*i].name.clone(),
            GroupName::Named(name) => {
                let mut candidate = name.clone();
                let mut k = 2;
                while taken.contains(&candidate) {
                    candidate = format!("{name}-{k}");
                    k += 1;
                }
                taken.insert(candidate.clone());
                candidate
            }
        };
    }

    let mut task_nodes: Vec<Vec<NodeDef>> = vec![Vec::new(); g];
    for &i in &graph.order {
        task_nodes[group_of[i]].push(graph.nodes[i].clone());
    }
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); g];
    for &(a, b) in &links {
        deps[b].push(a);
    }

    // Crossing datasets: (dataset, producing task) → consuming tasks and nodes.
    struct Cross<'a> {
        from: usize,
        written: &'a str,
        producer: usize,
        to: Vec<usize>,
        consumers: Vec<usize>,
    }
    let mut crossing: HashMap<&str, Cross<'_>> = HashMap::new();
    for e in &graph.edges {
        let (a, b) = (group_of[e.from], group_of[e.to]);
        if a == b {
            continue;
        }
        let c = crossing.entry(e.dataset).or_insert_with(|| Cross {
            from: a,
            written: graph.producer[e.dataset].1,
            producer: e.from,
            to: Vec::new(),
            consumers: Vec::new(),
        });
        c.to.push(b);
        c.consumers.push(e.to);
    }
    let mut crossing: Vec<(&str, Cross<'_>)> = crossing.into_iter().collect();
    crossing.sort_by(|x, y| (position[x.1.from], x.0).cmp(&(position[y.1.from], y.0)));

    let mut memory_crossings = Vec::new();
    let crossing: Vec<CrossingDataset> = crossing
        .into_iter()
        .map(|(dataset, mut c)| {
            c.to.sort_by_key(|&t| position[t]);
            c.to.dedup();
            let memory = snapshot.is_memory(c.written);
            if memory {
                let mut consumers: Vec<&str> = c
                    .consumers
                    .iter()
                    .map(|&i| graph.nodes[i].name.as_str())
                    .collect();
                consumers.sort_unstable();
                consumers.dedup();
                memory_crossings.push(format!(
                    "`{dataset}` ({} -> {})",
                    graph.nodes[c.producer].name,
                    consumers.join(", ")
                ));
            }
            CrossingDataset {
                dataset: dataset.to_string(),
                from_task: final_names[c.from].clone(),
                to_tasks: c.to.iter().map(|&t| final_names[t].clone()).collect(),
                memory,
            }
        })
        .collect();

    let mut warnings = Vec::new();
    if !memory_crossings.is_empty() {
        let what = format!(
            "MemoryDatasets would cross pods in pipeline `{pipeline}` with merge strategy `{}`: \
             {}",
            strategy.as_str(),
            memory_crossings.join(", ")
        );
        if opts.allow_memory_datasets {
            warnings.push(format!(
                "{what}; they are lost between pods unless something else persists them"
            ));
        } else {
            return Err(GraphError::Invalid(format!(
                "{what}; a MemoryDataset is lost when its pod ends: use `--merge-strategy memory` \
                 (or `node_merge_strategy: memory`) to keep such nodes in one pod, add catalog \
                 entries that persist these datasets, or pass `--allow-memory-datasets`"
            )));
        }
    }

    let tasks = order
        .iter()
        .map(|&t| {
            let mut depends_on = deps[t].clone();
            depends_on.sort_by_key(|&d| position[d]);
            Task {
                name: final_names[t].clone(),
                nodes: std::mem::take(&mut task_nodes[t]),
                depends_on: depends_on.iter().map(|&d| final_names[d].clone()).collect(),
                whole_pipeline: strategy == MergeStrategy::Full,
            }
        })
        .collect();

    Ok(Grouped {
        tasks: TaskGraph {
            pipeline: pipeline.to_string(),
            strategy,
            tasks,
            crossing,
        },
        warnings,
    })
}
