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

use std::borrow::Cow;
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

/// Which group a node is in (`id`) and what the group is called (`name`; two groups may ask
/// for one name, the second then gets a suffix).
#[derive(Debug, Clone)]
struct GroupKey<'a> {
    id: Cow<'a, str>,
    name: Cow<'a, str>,
}

impl<'a> GroupKey<'a> {
    fn named(name: &'a str) -> GroupKey<'a> {
        GroupKey {
            id: Cow::Borrowed(name),
            name: Cow::Borrowed(name),
        }
    }
}

/// Validate `pipeline` and group its nodes into tasks with `strategy`, for compiling: a
/// MemoryDataset crossing pods is an error, or a warning with `allow_memory_datasets`.
pub fn group(
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<Grouped, GraphError> {
    let mut grouped = group_view(snapshot, pipeline, strategy, opts)?;
    if let Some(problem) = memory_problem(&grouped, opts) {
        if opts.allow_memory_datasets {
            grouped.warnings.push(problem.to_string());
        } else {
            return Err(GraphError::MemoryCrossing(Box::new(problem)));
        }
    }
    Ok(grouped)
}

/// Validate `pipeline` and group its nodes into tasks with `strategy`, for looking at: the
/// MemoryDatasets that cross pods are listed in [`Grouped::memory_crossings`] (and marked in
/// the task graph's `crossing`), never refused.
pub fn group_view(
    snapshot: &Snapshot,
    pipeline: &str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<Grouped, GraphError> {
    let graph = validate::check(snapshot, pipeline)?;
    let (group_of, names) = assign(&graph, snapshot, pipeline, strategy, opts)?;
    build(&graph, snapshot, pipeline, strategy, &group_of, names)
}

/// The MemoryDatasets of `grouped` that cross pods, as the problem compile reports, if any.
pub fn memory_problem(grouped: &Grouped, opts: &GroupOptions) -> Option<MemoryCrossingError> {
    if grouped.memory_crossings.is_empty() {
        return None;
    }
    Some(MemoryCrossingError {
        pipeline: grouped.tasks.pipeline.clone(),
        strategy: grouped.tasks.strategy,
        crossings: grouped.memory_crossings.clone(),
        allowed: opts.allow_memory_datasets,
        graph_command: None,
    })
}

/// A MemoryDataset written in one pod and read in another: it does not survive at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MemoryCrossing {
    pub dataset: String,
    /// The node that writes it.
    pub producer: String,
    /// The nodes in other pods that read it, sorted.
    pub consumers: Vec<String>,
}

/// MemoryDatasets would cross pods: compile's error (or, allowed, its warning). The first line
/// counts them and names the first few; `help:` lines say what to do, each literally.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemoryCrossingError {
    pub pipeline: String,
    pub strategy: MergeStrategy,
    pub crossings: Vec<MemoryCrossing>,
    /// `--allow-memory-datasets` was given: this is a warning.
    pub allowed: bool,
    /// The `kfpx graph …` command line that shows them all, with the options the user gave
    /// (filled by the command layer, which knows them); else a plain one is suggested.
    pub graph_command: Option<String>,
}

impl MemoryCrossingError {
    /// `kfpx graph [-p P] --merge-strategy S`, for when the command layer gave none.
    fn default_graph_command(&self) -> String {
        let p = if self.pipeline == "__default__" {
            String::new()
        } else {
            format!(" -p {}", shell_word(&self.pipeline))
        };
        format!("kfpx graph{p} --merge-strategy {}", self.strategy.as_str())
    }
}

impl std::fmt::Display for MemoryCrossingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.crossings.len();
        let (what, verb) = if n == 1 {
            ("MemoryDataset", "crosses")
        } else {
            ("MemoryDatasets", "cross")
        };
        let head = format!(
            "{n} {what} {verb} pods in pipeline `{}` with merge strategy `{}`: ",
            ellipsis(&self.pipeline, MAX_NAME_CHARS),
            self.strategy.as_str()
        );
        // As many names as fit the line (at least one, at most MAX_LISTED_CROSSINGS).
        let names: Vec<String> = self
            .crossings
            .iter()
            .map(|c| format!("`{}`", ellipsis(&c.dataset, MAX_NAME_CHARS)))
            .collect();
        // Allowed, it is a one-line warning: the consequence goes on the line.
        let tail = if self.allowed {
            "; they are lost between pods"
        } else {
            ""
        };
        let budget = MAX_FIRST_LINE - tail.len();
        let mut shown = names.len().min(MAX_LISTED_CROSSINGS);
        while shown > 1 && head.chars().count() + summarise(&names, shown).chars().count() > budget
        {
            shown -= 1;
        }
        write!(f, "{head}{}{tail}", summarise(&names, shown))?;
        if self.allowed {
            return Ok(());
        }
        let graph = self
            .graph_command
            .clone()
            .unwrap_or_else(|| self.default_graph_command());
        write!(
            f,
            "\nhelp: a MemoryDataset is lost when its pod ends; `--merge-strategy memory` (or \
             `node_merge_strategy: memory` in kubeflow.yaml) keeps its writer and readers in one pod\
             \nhelp: or persist them with catalog entries, or pass `--allow-memory-datasets` to \
             compile anyway\nhelp: `{graph}` marks every one of them"
        )
    }
}

/// A word as a POSIX shell reads it back: quoted when it holds anything unusual.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.,/:@+=".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// At most `max` characters of `s`: a long name keeps its start and its end (where dataset
/// names differ), with `…` between.
fn ellipsis(s: &str, max: usize) -> String {
    let count = s.chars().count();
    if count <= max {
        return s.to_string();
    }
    let tail = (max - 1) * 2 / 3;
    let head = max - 1 - tail;
    let mut out: String = s.chars().take(head).collect();
    out.push('…');
    out.extend(s.chars().skip(count - tail));
    out
}

/// How long a dataset or pipeline name may be in an error's first line.
const MAX_NAME_CHARS: usize = 48;

/// How long the first line of the error may be (without `error: `).
const MAX_FIRST_LINE: usize = 190;

/// Each node's group id, and the groups' names. Group ids are numbered in the order of their
/// first node in the topological order, so sorting tasks by id follows Kedro's order.
fn assign<'a>(
    graph: &NodeGraph<'a>,
    snapshot: &Snapshot,
    pipeline: &'a str,
    strategy: MergeStrategy,
    opts: &GroupOptions,
) -> Result<(Vec<usize>, Vec<GroupName>), GraphError> {
    let n = graph.nodes.len();
    // Key of each node's group: None = alone.
    let keys: Vec<Option<GroupKey<'a>>> = match strategy {
        MergeStrategy::None => vec![None; n],
        MergeStrategy::Full => vec![Some(GroupKey::named(pipeline)); n],
        MergeStrategy::Tags => graph
            .nodes
            .iter()
            .map(|node| Ok(group_tag(node, &opts.tag_prefix)?.map(GroupKey::named)))
            .collect::<Result<_, GraphError>>()?,
        MergeStrategy::Namespace => graph
            .nodes
            .iter()
            .map(|node| {
                node.namespace
                    .as_deref()
                    .and_then(|ns| ns.split('.').next())
                    .filter(|ns| !ns.is_empty())
                    .map(GroupKey::named)
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
            Some(key) => *by_key.entry(key.id.as_ref()).or_insert_with(|| {
                names.push(GroupName::Named(key.name.to_string()));
                names.len() - 1
            }),
        };
    }
    Ok((group_of, names))
}

/// The group a node's tags put it in (`<prefix><name>`), if any.
fn group_tag<'a>(node: &'a NodeDef, prefix: &str) -> Result<Option<&'a str>, GraphError> {
    let mut found: Option<&str> = None;
    for tag in node.tags.iter().filter(|t| t.starts_with(prefix)) {
        match found {
            Some(first) if first != tag => return Err(two_group_tags(node, prefix)),
            _ => found = Some(tag),
        }
    }
    match found {
        None => Ok(None),
        Some(tag) => {
            let name = &tag[prefix.len()..];
            if name.is_empty() {
                return Err(GraphError::GroupTags {
                    node: node.name.clone(),
                    problem: GroupTagProblem::NoName {
                        tag: tag.to_string(),
                        prefix: prefix.to_string(),
                    },
                });
            }
            Ok(Some(name))
        }
    }
}

fn two_group_tags(node: &NodeDef, prefix: &str) -> GraphError {
    let mut many: Vec<&str> = node
        .tags
        .iter()
        .filter(|t| t.starts_with(prefix))
        .map(String::as_str)
        .collect();
    many.sort_unstable();
    many.dedup();
    GraphError::GroupTags {
        node: node.name.clone(),
        problem: GroupTagProblem::Several {
            tags: many.into_iter().map(str::to_string).collect(),
        },
    }
}

/// What is wrong with a node's group tags (the message follows "node `<name>` has").
#[derive(Debug, thiserror::Error)]
pub enum GroupTagProblem {
    /// A tag that is only the prefix.
    #[error("the tag `{tag}` with no group name after `{prefix}`: name the group, e.g. `{prefix}training`")]
    NoName { tag: String, prefix: String },
    /// Tags naming different groups, sorted.
    #[error(
        "{} group tags ({}): a node can be in one group only; keep one of them",
        .tags.len(),
        .tags.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
    )]
    Several { tags: Vec<String> },
}

/// Connected components over MemoryDataset links (union-find), so no MemoryDataset crosses
/// pods. Components that need each other both ways (a's MemoryDataset goes to c, but c also
/// needs b's file, and b needs a's) form a cycle between tasks: they are merged too (strongly
/// connected components of the contracted graph), since only one pod can run them. A lone
/// node keeps its name; a component is named after its nodes' common namespace, else after its
/// first node (`<node>_group`).
fn memory_components<'a>(graph: &NodeGraph<'a>, snapshot: &Snapshot) -> Vec<Option<GroupKey<'a>>> {
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
        if snapshot.is_memory(e.written) {
            let (a, b) = (find(&mut parent, e.from), find(&mut parent, e.to));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let root: Vec<usize> = (0..n).map(|i| find(&mut parent, i)).collect();
    let links: Vec<(usize, usize)> = graph
        .edges
        .iter()
        .map(|e| (root[e.from], root[e.to]))
        .filter(|(a, b)| a != b)
        .collect();
    let scc = validate::strongly_connected(n, &links);

    let mut members: HashMap<usize, Vec<usize>> = HashMap::new();
    for &i in &graph.order {
        members.entry(scc[root[i]]).or_default().push(i);
    }
    let mut keys = vec![None; n];
    for (id, nodes) in &members {
        if nodes.len() < 2 {
            continue;
        }
        let name = common_namespace(nodes.iter().map(|&i| &graph.nodes[i]))
            .unwrap_or_else(|| format!("{}_group", graph.nodes[nodes[0]].name));
        for &i in nodes {
            keys[i] = Some(GroupKey {
                id: Cow::Owned(format!("memory component {id}")),
                name: Cow::Owned(name.clone()),
            });
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
    group_of: &[usize],
    names: Vec<GroupName>,
) -> Result<Grouped, GraphError> {
    let g = names.len();

    // Task links, each once.
    let mut links: Vec<(usize, usize)> = graph
        .edges
        .iter()
        .map(|e| (group_of[e.from], group_of[e.to]))
        .filter(|(a, b)| a != b)
        .collect();
    links.sort_unstable();
    links.dedup();

    let order = toposort(g, &links)
        .map_err(|cycle| cycle_error(graph, pipeline, strategy, group_of, &names, &cycle))?;
    let mut position = vec![0; g];
    for (at, &t) in order.iter().enumerate() {
        position[t] = at;
    }

    let mut final_names = task_names(graph, &names, &order);
    let (crossing, memory_crossings) =
        crossings(graph, snapshot, group_of, &order, &position, &final_names);
    let tasks = tasks_in_order(
        graph,
        strategy,
        group_of,
        &order,
        &position,
        &links,
        &mut final_names,
    );

    Ok(Grouped {
        tasks: TaskGraph {
            pipeline: pipeline.to_string(),
            strategy,
            tasks,
            crossing,
        },
        warnings: Vec::new(),
        memory_crossings,
    })
}

/// Unique task names, indexed by task: lone nodes keep theirs (unique already); a group whose
/// name is taken gets `-2`, `-3`, … in task order.
fn task_names(graph: &NodeGraph<'_>, names: &[GroupName], order: &[usize]) -> Vec<String> {
    let g = names.len();
    let any_group = names.iter().any(|n| matches!(n, GroupName::Named(_)));
    let node_names: HashSet<&str> = if any_group {
        names
            .iter()
            .filter_map(|n| match n {
                GroupName::Node(i) => Some(graph.nodes[*i].name.as_str()),
                GroupName::Named(_) => None,
            })
            .collect()
    } else {
        HashSet::new()
    };
    let mut group_names: HashSet<String> = HashSet::new();
    let mut final_names = vec![String::new(); g];
    for &t in order {
        final_names[t] = match &names[t] {
            GroupName::Node(i) => graph.nodes[*i].name.clone(),
            GroupName::Named(name) => {
                let mut candidate = name.clone();
                let mut k = 2;
                while node_names.contains(candidate.as_str()) || group_names.contains(&candidate) {
                    candidate = format!("{name}-{k}");
                    k += 1;
                }
                group_names.insert(candidate.clone());
                candidate
            }
        };
    }
    final_names
}

/// The datasets crossing tasks, one entry per (producing task, dataset) in task order, and
/// the MemoryDatasets among them.
fn crossings(
    graph: &NodeGraph<'_>,
    snapshot: &Snapshot,
    group_of: &[usize],
    order: &[usize],
    position: &[usize],
    final_names: &[String],
) -> (Vec<CrossingDataset>, Vec<MemoryCrossing>) {
    // Crossing datasets: (producing task's position, dataset, consuming task's position,
    // edge), sorted, then one entry per (task, dataset).
    let mut links_by_dataset: Vec<(usize, &str, usize, usize)> = graph
        .edges
        .iter()
        .enumerate()
        .filter(|(_, e)| group_of[e.from] != group_of[e.to])
        .map(|(k, e)| {
            (
                position[group_of[e.from]],
                e.dataset,
                position[group_of[e.to]],
                k,
            )
        })
        .collect();
    links_by_dataset.sort_unstable();
    let mut crossing = Vec::new();
    let mut memory_crossings = Vec::new();
    for same in links_by_dataset.chunk_by(|x, y| (x.0, x.1) == (y.0, y.1)) {
        let (from_pos, dataset, _, first) = same[0];
        let edge = &graph.edges[first];
        let memory = snapshot.is_memory(edge.written);
        let mut to_tasks: Vec<String> = Vec::new();
        let mut last = usize::MAX;
        for &(_, _, to_pos, _) in same {
            if to_pos != last {
                to_tasks.push(final_names[order[to_pos]].clone());
                last = to_pos;
            }
        }
        if memory {
            let mut consumers: Vec<String> = same
                .iter()
                .map(|&(_, _, _, k)| graph.nodes[graph.edges[k].to].name.clone())
                .collect();
            consumers.sort_unstable();
            consumers.dedup();
            memory_crossings.push(MemoryCrossing {
                dataset: dataset.to_string(),
                producer: graph.nodes[edge.from].name.clone(),
                consumers,
            });
        }
        crossing.push(CrossingDataset {
            dataset: dataset.to_string(),
            from_task: final_names[order[from_pos]].clone(),
            to_tasks,
            memory,
        });
    }

    (crossing, memory_crossings)
}

/// The tasks in task order, each with its nodes (in the graph's order) and its dependencies
/// (in task order); takes the names out of `final_names`.
fn tasks_in_order(
    graph: &NodeGraph<'_>,
    strategy: MergeStrategy,
    group_of: &[usize],
    order: &[usize],
    position: &[usize],
    links: &[(usize, usize)],
    final_names: &mut [String],
) -> Vec<Task> {
    let g = order.len();
    let mut sizes = vec![0usize; g];
    for &gr in group_of {
        sizes[gr] += 1;
    }
    let mut task_nodes: Vec<Vec<NodeDef>> = sizes.iter().map(|&k| Vec::with_capacity(k)).collect();
    for &i in &graph.order {
        task_nodes[group_of[i]].push(graph.nodes[i].clone());
    }
    // Dependencies by (task position, dependency position): each task's in task order.
    let mut deps: Vec<(usize, usize)> = links
        .iter()
        .map(|&(a, b)| (position[b], position[a]))
        .collect();
    deps.sort_unstable();
    let mut deps = deps.as_slice();
    // Built last to first, so each task's name moves into it once no later task needs it.
    let mut tasks: Vec<Task> = Vec::with_capacity(g);
    for (pos, &t) in order.iter().enumerate().rev() {
        let split = deps.partition_point(|&(p, _)| p < pos);
        let (rest, mine) = deps.split_at(split);
        deps = rest;
        tasks.push(Task {
            depends_on: mine
                .iter()
                .map(|&(_, d)| final_names[order[d]].clone())
                .collect(),
            name: std::mem::take(&mut final_names[t]),
            nodes: std::mem::take(&mut task_nodes[t]),
            whole_pipeline: strategy == MergeStrategy::Full,
        });
    }
    tasks.reverse();
    tasks
}

/// The error for grouping that made a cycle between tasks: the path, with a dataset per hop.
fn cycle_error(
    graph: &NodeGraph<'_>,
    pipeline: &str,
    strategy: MergeStrategy,
    group_of: &[usize],
    names: &[GroupName],
    cycle: &[usize],
) -> GraphError {
    let mut via: HashMap<(usize, usize), &str> = HashMap::new();
    for e in &graph.edges {
        via.entry((group_of[e.from], group_of[e.to]))
            .or_insert(e.dataset);
    }
    let task_name = |t: usize| match &names[t] {
        GroupName::Node(i) => format!("`{}`", graph.nodes[*i].name),
        GroupName::Named(name) => format!("group `{name}`"),
    };
    GraphError::GroupCycle {
        pipeline: pipeline.to_string(),
        strategy,
        cycle: describe_cycle(cycle, task_name, &via),
    }
}

/// What to do about a cycle between the tasks of `strategy`.
pub(crate) fn cycle_hint(strategy: MergeStrategy) -> &'static str {
    match strategy {
        MergeStrategy::Tags => {
            "a node outside a group runs after one member and before another: tag it into \
             the group too, or split the group"
        }
        MergeStrategy::Namespace => {
            "a node outside the namespace runs between two of its nodes: move it into the \
             namespace, or use another merge strategy"
        }
        _ => "please report this: this strategy should not make cycles",
    }
}

/// How many crossing MemoryDatasets an error or warning names before it summarises the rest.
const MAX_LISTED_CROSSINGS: usize = 3;

/// `a, b, c` or, past `max` items, `a, b, c and N more`, so a large pipeline still gets a
/// short first line.
fn summarise(items: &[String], max: usize) -> String {
    if items.len() <= max {
        return items.join(", ");
    }
    format!("{} and {} more", items[..max].join(", "), items.len() - max)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graph::snapshot::{DatasetDef, PipelineDef, ProjectInfo, SNAPSHOT_FORMAT};

    fn node(name: &str, inputs: &[&str], outputs: &[&str], tags: &[&str]) -> NodeDef {
        NodeDef {
            name: name.into(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            tags: tags.iter().map(|s| s.to_string()).collect(),
            namespace: name.rsplit_once('.').map(|(ns, _)| ns.to_string()),
        }
    }

    /// A snapshot with one pipeline `p`; every dataset named in `files` is persisted, the
    /// ones in `memory` are explicit MemoryDatasets, the rest have no catalog entry.
    fn snap(nodes: Vec<NodeDef>, files: &[&str], memory: &[&str]) -> Snapshot {
        let mut datasets = BTreeMap::new();
        for f in files {
            datasets.insert(
                f.to_string(),
                DatasetDef {
                    ty: Some("pandas.CSVDataset".into()),
                    memory: false,
                    filepath: Some(format!("data/{f}.csv")),
                },
            );
        }
        for m in memory {
            datasets.insert(
                m.to_string(),
                DatasetDef {
                    ty: Some("MemoryDataset".into()),
                    memory: true,
                    filepath: None,
                },
            );
        }
        Snapshot {
            format: SNAPSHOT_FORMAT.into(),
            version: 1,
            project: ProjectInfo {
                name: "p".into(),
                package: None,
                kedro_version: "1.0.0".into(),
            },
            env: None,
            pipelines: [("p".to_string(), PipelineDef { nodes })].into(),
            datasets,
            parameters: serde_json::json!({}),
        }
    }

    fn grp(s: &Snapshot, strategy: MergeStrategy) -> Result<Grouped, GraphError> {
        group(s, "p", strategy, &GroupOptions::default())
    }

    /// `name: node, node | after: dep, dep` per task, in task order.
    fn shape(g: &Grouped) -> Vec<String> {
        g.tasks
            .tasks
            .iter()
            .map(|t| {
                let nodes: Vec<&str> = t.nodes.iter().map(|n| n.name.as_str()).collect();
                format!(
                    "{}: {} | after: {}",
                    t.name,
                    nodes.join(", "),
                    t.depends_on.join(", ")
                )
            })
            .collect()
    }

    use std::collections::BTreeMap;

    /// raw -> a -> x -> b -> y -> c, and a -> x -> d (x, y persisted).
    fn chain() -> Snapshot {
        snap(
            vec![
                node("c", &["y", "params:k"], &["z"], &[]),
                node("b", &["x", "parameters"], &["y"], &[]),
                node("a", &["raw"], &["x"], &[]),
                node("d", &["x"], &["w"], &[]),
            ],
            &["raw", "x", "y", "z", "w"],
            &[],
        )
    }

    #[test]
    fn none_makes_one_task_per_node_in_topological_order() {
        let g = grp(&chain(), MergeStrategy::None).unwrap();
        assert_eq!(
            shape(&g),
            [
                "a: a | after: ",
                "b: b | after: a",
                "c: c | after: b",
                "d: d | after: a"
            ]
        );
        assert!(g.tasks.tasks.iter().all(|t| !t.whole_pipeline));
        let crossing: Vec<String> = g
            .tasks
            .crossing
            .iter()
            .map(|c| format!("{}: {} -> {}", c.dataset, c.from_task, c.to_tasks.join(",")))
            .collect();
        // Parameters are not datasets; free inputs (raw) and final outputs do not cross.
        assert_eq!(crossing, ["x: a -> b,d", "y: b -> c"]);
        assert!(g.tasks.crossing.iter().all(|c| !c.memory));
        assert!(g.warnings.is_empty());
    }

    #[test]
    fn none_rejects_a_memory_dataset_between_pods_unless_allowed() {
        // `m` is an explicit MemoryDataset, `implicit` has no catalog entry at all.
        let s = snap(
            vec![
                node("a", &["raw"], &["m", "implicit"], &[]),
                node("b", &["m"], &["out"], &[]),
                node("c", &["m", "implicit"], &["out2"], &[]),
            ],
            &["raw", "out", "out2"],
            &["m"],
        );
        let e = grp(&s, MergeStrategy::None).unwrap_err().to_string();
        let first = e.lines().next().unwrap();
        assert_eq!(
            first,
            "2 MemoryDatasets cross pods in pipeline `p` with merge strategy `none`: `implicit`, `m`"
        );
        assert!(e.lines().skip(1).all(|l| l.starts_with("help: ")), "{e}");
        assert!(e.contains("--merge-strategy memory"), "{e}");
        assert!(e.contains("--allow-memory-datasets"), "{e}");
        assert!(e.contains("`kfpx graph -p p --merge-strategy none`"), "{e}");

        // The view never refuses: it lists who writes and reads each one.
        let v = group_view(&s, "p", MergeStrategy::None, &GroupOptions::default()).unwrap();
        let listed: Vec<String> = v
            .memory_crossings
            .iter()
            .map(|c| {
                format!(
                    "{} ({} -> {})",
                    c.dataset,
                    c.producer,
                    c.consumers.join(", ")
                )
            })
            .collect();
        assert_eq!(listed, ["implicit (a -> c)", "m (a -> b, c)"]);

        let allow = GroupOptions {
            allow_memory_datasets: true,
            ..Default::default()
        };
        let g = group(&s, "p", MergeStrategy::None, &allow).unwrap();
        assert_eq!(g.warnings.len(), 1);
        assert!(
            g.warnings[0].ends_with("`implicit`, `m`; they are lost between pods"),
            "{}",
            g.warnings[0]
        );
        assert!(g.tasks.crossing.iter().all(|c| c.memory));
        assert_eq!(g.tasks.tasks.len(), 3);
    }

    #[test]
    fn the_memory_crossing_error_stays_short_for_long_names_and_many_datasets() {
        let long = "a_rather_long_namespace.with_a_long_dataset_name_that_goes_on_and_on";
        let mut nodes = vec![node(
            "producer",
            &["raw"],
            &[long, "m1", "m2", "m3", "m4", "m5", "m6"],
            &[],
        )];
        for (i, d) in [long, "m1", "m2", "m3", "m4", "m5", "m6"]
            .iter()
            .enumerate()
        {
            nodes.push(node(&format!("c{i}"), &[d], &[&format!("o{i}")], &[]));
        }
        let s = snap(nodes, &["raw"], &[]);
        let e = grp(&s, MergeStrategy::None).unwrap_err().to_string();
        for line in e.lines() {
            assert!(line.chars().count() <= 200, "{} chars: {line}", line.len());
        }
        assert!(e
            .lines()
            .next()
            .unwrap()
            .starts_with("7 MemoryDatasets cross pods"));
        assert!(e.lines().next().unwrap().ends_with(" and 4 more"), "{e}");
    }

    #[test]
    fn transcoded_datasets_link_nodes_and_use_their_catalog_entry() {
        let s = snap(
            vec![
                node("a", &["raw"], &["t@spark"], &[]),
                node("b", &["t@pandas"], &["out"], &[]),
            ],
            &["raw", "t@spark", "t@pandas", "out"],
            &[],
        );
        let g = grp(&s, MergeStrategy::None).unwrap();
        assert_eq!(shape(&g), ["a: a | after: ", "b: b | after: a"]);
        assert_eq!(g.tasks.crossing[0].dataset, "t");
        assert!(!g.tasks.crossing[0].memory);
    }

    #[test]
    fn full_is_one_task_named_after_the_pipeline() {
        let g = grp(&chain(), MergeStrategy::Full).unwrap();
        assert_eq!(shape(&g), ["p: a, b, c, d | after: "]);
        assert!(g.tasks.tasks[0].whole_pipeline);
        assert!(g.tasks.crossing.is_empty());
        // Memory datasets do not matter inside one pod.
        let s = snap(
            vec![node("a", &[], &["m"], &[]), node("b", &["m"], &[], &[])],
            &[],
            &[],
        );
        assert!(grp(&s, MergeStrategy::Full).unwrap().warnings.is_empty());
    }

    #[test]
    fn memory_groups_nodes_linked_by_memory_datasets() {
        // a -m1-> b -file-> c -m2-> d; e -m3-> f, f -m4-> g with e, f, g in namespace ns.
        let s = snap(
            vec![
                node("a", &["raw"], &["m1"], &[]),
                node("b", &["m1"], &["f1"], &[]),
                node("c", &["f1"], &["m2"], &[]),
                node("d", &["m2"], &["out"], &[]),
                node("ns.e", &["raw"], &["ns.m3"], &[]),
                node("ns.sub.f", &["ns.m3"], &["ns.m4"], &[]),
                node("ns.g", &["ns.m4"], &["out2"], &[]),
                node("h", &["out"], &["out3"], &[]),
            ],
            &["raw", "f1", "out", "out2", "out3"],
            &["m2"],
        );
        let g = grp(&s, MergeStrategy::Memory).unwrap();
        assert_eq!(
            shape(&g),
            [
                "a_group: a, b | after: ",
                "c_group: c, d | after: a_group",
                "ns: ns.e, ns.sub.f, ns.g | after: ",
                "h: h | after: c_group"
            ]
        );
        assert!(g.tasks.crossing.iter().all(|c| !c.memory));
        assert!(g.warnings.is_empty());
    }

    #[test]
    fn memory_merges_components_that_would_need_each_other() {
        // a -m-> c in memory, but a -x-> b -y-> c through files: {a, c} and b need each other
        // both ways, so the three share a pod; e only reads c's output.
        let s = snap(
            vec![
                node("a", &["raw"], &["m", "x"], &[]),
                node("b", &["x"], &["y"], &[]),
                node("c", &["m", "y"], &["out"], &[]),
                node("e", &["out"], &["end"], &[]),
            ],
            &["raw", "x", "y", "out", "end"],
            &[],
        );
        let g = grp(&s, MergeStrategy::Memory).unwrap();
        assert_eq!(
            shape(&g),
            ["a_group: a, b, c | after: ", "e: e | after: a_group"]
        );
        assert!(g.tasks.crossing.iter().all(|c| !c.memory));
    }

    #[test]
    fn memory_groups_with_the_same_namespace_stay_apart() {
        // Two separate memory chains in one namespace: two tasks, the second name suffixed.
        let s = snap(
            vec![
                node("ns.a", &["raw"], &["m1"], &[]),
                node("ns.b", &["m1"], &["f"], &[]),
                node("ns.c", &["f"], &["m2"], &[]),
                node("ns.d", &["m2"], &["out"], &[]),
            ],
            &["raw", "f", "out"],
            &[],
        );
        let g = grp(&s, MergeStrategy::Memory).unwrap();
        assert_eq!(
            shape(&g),
            ["ns: ns.a, ns.b | after: ", "ns-2: ns.c, ns.d | after: ns"]
        );
    }

    #[test]
    fn tags_group_tagged_nodes_and_leave_the_rest_alone() {
        let s = snap(
            vec![
                node("a", &["raw"], &["x"], &["group.prep", "other"]),
                node("b", &["raw"], &["y"], &["group.prep"]),
                node("c", &["x", "y"], &["z"], &[]),
                node("d", &["z"], &["w"], &["group.train"]),
                node("e", &["w"], &["v"], &["group.train"]),
            ],
            &["raw", "x", "y", "z", "w", "v"],
            &[],
        );
        let g = grp(&s, MergeStrategy::Tags).unwrap();
        assert_eq!(
            shape(&g),
            [
                "prep: a, b | after: ",
                "c: c | after: prep",
                "train: d, e | after: c"
            ]
        );

        // Another prefix (config `group_tag_prefix`).
        let s = snap(
            vec![
                node("a", &[], &["x"], &["pod:one"]),
                node("b", &["x"], &[], &["pod:one"]),
            ],
            &["x"],
            &[],
        );
        let opts = GroupOptions {
            tag_prefix: "pod:".into(),
            ..Default::default()
        };
        let g = group(&s, "p", MergeStrategy::Tags, &opts).unwrap();
        assert_eq!(shape(&g), ["one: a, b | after: "]);
    }

    #[test]
    fn tags_reject_two_group_tags_and_empty_group_names() {
        let s = snap(
            vec![node("a", &[], &["x"], &["group.b", "group.a", "keep"])],
            &["x"],
            &[],
        );
        let e = grp(&s, MergeStrategy::Tags).unwrap_err().to_string();
        assert!(
            e.contains("node `a` has 2 group tags (`group.a`, `group.b`)"),
            "{e}"
        );
        let s = snap(vec![node("a", &[], &["x"], &["group."])], &["x"], &[]);
        let e = grp(&s, MergeStrategy::Tags).unwrap_err().to_string();
        assert!(e.contains("no group name"), "{e}");
    }

    #[test]
    fn tags_that_make_a_cycle_are_an_error_naming_the_path() {
        // A(g) -> B -> C(g): the group would run before and after B.
        let s = snap(
            vec![
                node("A", &["raw"], &["x"], &["group.g"]),
                node("B", &["x"], &["y"], &[]),
                node("C", &["y"], &["z"], &["group.g"]),
            ],
            &["raw", "x", "y", "z"],
            &[],
        );
        let e = grp(&s, MergeStrategy::Tags).unwrap_err().to_string();
        assert!(e.contains("merge strategy `tags` makes a cycle"), "{e}");
        assert!(
            e.contains("group `g` -[x]-> `B` -[y]-> group `g`")
                || e.contains("`B` -[y]-> group `g` -[x]-> `B`"),
            "{e}"
        );
        assert!(e.contains("tag it into the group"), "{e}");
    }

    #[test]
    fn a_group_named_like_a_node_gets_a_suffix() {
        let s = snap(
            vec![
                node("train", &["raw"], &["x"], &[]),
                node("a", &["x"], &["y"], &["group.train"]),
                node("b", &["y"], &["z"], &["group.train"]),
            ],
            &["raw", "x", "y", "z"],
            &[],
        );
        let g = grp(&s, MergeStrategy::Tags).unwrap();
        assert_eq!(
            shape(&g),
            ["train: train | after: ", "train-2: a, b | after: train"]
        );
        assert_eq!(g.tasks.crossing[0].to_tasks, ["train-2"]);
    }

    #[test]
    fn namespace_groups_by_top_level_namespace() {
        let s = snap(
            vec![
                node("dp.a", &["raw"], &["dp.x"], &[]),
                node("dp.inner.b", &["dp.x"], &["table"], &[]),
                node("loose", &["table"], &["t2"], &[]),
                node("ds.c", &["t2"], &["ds.model"], &[]),
            ],
            &["raw", "dp.x", "table", "t2", "ds.model"],
            &[],
        );
        let g = grp(&s, MergeStrategy::Namespace).unwrap();
        assert_eq!(
            shape(&g),
            [
                "dp: dp.a, dp.inner.b | after: ",
                "loose: loose | after: dp",
                "ds: ds.c | after: loose"
            ]
        );
    }

    #[test]
    fn namespace_cycle_is_an_error() {
        let s = snap(
            vec![
                node("ns.a", &["raw"], &["x"], &[]),
                node("out", &["x"], &["y"], &[]),
                node("ns.b", &["y"], &["z"], &[]),
            ],
            &["raw", "x", "y", "z"],
            &[],
        );
        let e = grp(&s, MergeStrategy::Namespace).unwrap_err().to_string();
        assert!(
            e.contains("merge strategy `namespace` makes a cycle"),
            "{e}"
        );
        assert!(e.contains("`out`"), "{e}");
    }

    #[test]
    fn a_long_cycle_is_shortened_in_the_message() {
        // t0(g) -> n1 -> ... -> n20 -> t21(g)
        let mut nodes = vec![node("t0", &["raw"], &["d0"], &["group.g"])];
        for i in 1..=20 {
            nodes.push(node(
                &format!("n{i}"),
                &[&format!("d{}", i - 1)],
                &[&format!("d{i}")],
                &[],
            ));
        }
        nodes.push(node("t21", &["d20"], &["out"], &["group.g"]));
        let names: Vec<String> = (0..=20).map(|i| format!("d{i}")).collect();
        let mut files: Vec<&str> = names.iter().map(String::as_str).collect();
        files.extend(["raw", "out"]);
        let e = grp(&snap(nodes, &files, &[]), MergeStrategy::Tags)
            .unwrap_err()
            .to_string();
        assert!(e.contains("`n5` -> … (13 more) … -[d18]-> `n19`"), "{e}");
        assert!(e.len() < 600, "{e}");
    }

    #[test]
    fn validation_runs_before_grouping() {
        let e = group(
            &chain(),
            "nope",
            MergeStrategy::None,
            &GroupOptions::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("unknown pipeline `nope`") && e.contains("`p`"),
            "{e}"
        );
    }

    /// A layered synthetic pipeline: `n` nodes in layers of 100, each reading two outputs of
    /// the layer before; every 10th output is a MemoryDataset; tags put runs of 5 nodes of a
    /// layer together; each block of 10 layers is one namespace.
    pub(crate) fn synthetic(n: usize) -> Snapshot {
        let mut nodes = Vec::with_capacity(n);
        let mut files = Vec::new();
        for i in 0..n {
            let (layer, pos) = (i / 100, i % 100);
            let inputs: Vec<String> = if layer == 0 {
                vec!["raw".into(), "params:model".into()]
            } else {
                vec![
                    format!("d{}", (layer - 1) * 100 + pos),
                    format!("d{}", (layer - 1) * 100 + (pos + 1) % 100),
                ]
            };
            if i % 10 != 0 {
                files.push(format!("d{i}"));
            }
            nodes.push(NodeDef {
                name: format!("ns{}.node_{i}", layer / 10),
                inputs,
                outputs: vec![format!("d{i}")],
                tags: vec![format!("group.g{}_{}", layer, pos / 5)],
                namespace: Some(format!("ns{}", layer / 10)),
            });
        }
        let files: Vec<&str> = files.iter().map(String::as_str).collect();
        snap(nodes, &files, &[])
    }

    #[test]
    fn every_strategy_handles_a_large_graph() {
        let s = synthetic(2_000);
        let allow = GroupOptions {
            allow_memory_datasets: true,
            ..Default::default()
        };
        for (strategy, tasks) in [
            (MergeStrategy::None, 2_000),
            (MergeStrategy::Full, 1),
            (MergeStrategy::Tags, 400),
            (MergeStrategy::Namespace, 2),
        ] {
            let g = group(&s, "p", strategy, &allow).unwrap();
            assert_eq!(g.tasks.tasks.len(), tasks, "{strategy:?}");
            assert_eq!(
                g.tasks.tasks.iter().map(|t| t.nodes.len()).sum::<usize>(),
                2_000
            );
        }
        // Every task comes after the tasks it depends on.
        let g = group(&s, "p", MergeStrategy::Memory, &allow).unwrap();
        let mut seen = HashSet::new();
        for t in &g.tasks.tasks {
            assert!(t.depends_on.iter().all(|d| seen.contains(d)), "{}", t.name);
            seen.insert(t.name.clone());
        }
    }

    /// CPU time of this thread so far (Linux `/proc/thread-self/schedstat`, nanoseconds; it
    /// is updated at scheduler ticks, so only differences over many runs are precise).
    fn thread_cpu() -> Option<std::time::Duration> {
        let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
        let ns = stat.split_whitespace().next()?.parse().ok()?;
        Some(std::time::Duration::from_nanos(ns))
    }

    /// Mean wall time and mean CPU time of one call of `f`, over `runs` calls; the results
    /// are dropped after the clock stops. The CPU time does not count the time other
    /// processes had the core, so it is the figure to trust on a busy machine.
    fn measure<T>(
        runs: u32,
        mut f: impl FnMut() -> T,
    ) -> (std::time::Duration, Option<std::time::Duration>) {
        drop(f()); // warm up
        let mut kept = Vec::with_capacity(runs as usize);
        let (t, c) = (std::time::Instant::now(), thread_cpu());
        for _ in 0..runs {
            kept.push(f());
        }
        let wall = t.elapsed() / runs;
        let cpu = c.zip(thread_cpu()).map(|(c0, c1)| (c1 - c0) / runs);
        drop(kept);
        (wall, cpu)
    }

    /// `cargo test --release --lib grouping::tests::bench -- --ignored --nocapture`
    ///
    /// The issue's target is 10,000 nodes in under 20 ms; the assertion here is a looser guard
    /// (100 ms of CPU) that still catches any quadratic step (which would take seconds), so the
    /// bench does not fail on a machine shared with other builds. Read the printed figures.
    #[test]
    #[ignore = "timing; meaningful only with --release"]
    fn bench_group_10000_nodes() {
        let s = synthetic(10_000);
        let opts = GroupOptions {
            allow_memory_datasets: true,
            ..Default::default()
        };
        let (wall, cpu) = measure(30, || validate::check(&s, "p").unwrap().order.len());
        eprintln!("validate 10,000 nodes: mean wall {wall:?}, mean cpu {cpu:?}");
        let (wall, cpu) = measure(30, || s.pipelines["p"].nodes.clone());
        eprintln!("(cloning the 10,000 nodes alone: mean wall {wall:?}, mean cpu {cpu:?})");
        let mut slowest = std::time::Duration::ZERO;
        for strategy in [
            MergeStrategy::None,
            MergeStrategy::Full,
            MergeStrategy::Memory,
            MergeStrategy::Tags,
            MergeStrategy::Namespace,
        ] {
            let (wall, cpu) = measure(30, || group(&s, "p", strategy, &opts).unwrap());
            eprintln!(
                "validate + group 10,000 nodes, {strategy:?}: mean wall {wall:?}, mean cpu {cpu:?}"
            );
            slowest = slowest.max(cpu.unwrap_or(wall));
        }
        assert!(
            slowest < std::time::Duration::from_millis(100),
            "{slowest:?}"
        );
    }

    #[test]
    fn memory_crossing_messages_name_at_most_five_datasets() {
        let items: Vec<String> = (0..8).map(|i| format!("ds{i}")).collect();
        assert_eq!(summarise(&items[..3], 5), "ds0, ds1, ds2");
        let long = summarise(&items, 5);
        assert!(
            long.starts_with("ds0, ds1, ds2, ds3, ds4 and 3 more"),
            "{long}"
        );
        assert!(!long.contains("ds5"), "{long}");
    }
}
