//! `kfpx graph` output: text, Mermaid and Graphviz DOT renderings of a task graph. Pure and
//! deterministic (tasks in topological order, edges in the order of their tasks).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write;

use crate::graph::{Task, TaskGraph};

/// Datasets crossing from one task to another, per (from, to) pair: (name, memory).
fn edge_labels(graph: &TaskGraph) -> HashMap<(&str, &str), Vec<(&str, bool)>> {
    let mut labels: HashMap<(&str, &str), Vec<(&str, bool)>> = HashMap::new();
    for c in &graph.crossing {
        for to in &c.to_tasks {
            labels
                .entry((c.from_task.as_str(), to.as_str()))
                .or_default()
                .push((c.dataset.as_str(), c.memory));
        }
    }
    labels
}

/// An edge to draw: from task, to task, the datasets on it (name, memory).
type DrawnEdge<'a> = (&'a str, &'a str, Vec<(&'a str, bool)>);

/// The edges to draw: one per dependency, in task order, with its datasets.
fn edges(graph: &TaskGraph) -> Vec<DrawnEdge<'_>> {
    let mut labels = edge_labels(graph);
    let mut out = Vec::new();
    for task in &graph.tasks {
        for dep in &task.depends_on {
            let datasets = labels
                .remove(&(dep.as_str(), task.name.as_str()))
                .unwrap_or_default();
            out.push((dep.as_str(), task.name.as_str(), datasets));
        }
    }
    out
}

/// A task is drawn with its node list unless it is one node of the same name.
fn is_lone_node(task: &Task) -> bool {
    task.nodes.len() == 1 && task.nodes[0].name == task.name
}

/// Human-readable listing: tasks, their nodes, dependencies, the datasets between tasks.
pub fn text(graph: &TaskGraph) -> String {
    let mut s = String::new();
    let nodes: usize = graph.tasks.iter().map(|t| t.nodes.len()).sum();
    let _ = writeln!(
        s,
        "pipeline {} (merge strategy: {}): {} {} in {} {}",
        graph.pipeline,
        graph.strategy.as_str(),
        nodes,
        plural(nodes, "node", "nodes"),
        graph.tasks.len(),
        plural(graph.tasks.len(), "task", "tasks"),
    );
    for task in &graph.tasks {
        let _ = writeln!(s, "\ntask {}", task.name);
        let names: Vec<&str> = task.nodes.iter().map(|n| n.name.as_str()).collect();
        if task.whole_pipeline {
            let _ = writeln!(s, "  runs the whole pipeline ({} nodes)", names.len());
        }
        let _ = writeln!(s, "  nodes: {}", names.join(", "));
        if !task.depends_on.is_empty() {
            let _ = writeln!(s, "  after: {}", task.depends_on.join(", "));
        }
    }
    if !graph.crossing.is_empty() {
        let _ = writeln!(s, "\ndatasets between tasks:");
        for c in &graph.crossing {
            let flag = if c.memory {
                " [MemoryDataset: lost between pods]"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "  {}{flag}: {} -> {}",
                c.dataset,
                c.from_task,
                c.to_tasks.join(", ")
            );
        }
    }
    s
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

/// The grouped tasks as JSON (`kfpx graph --format json`): what compile turns into pods.
/// `memory: true` marks a MemoryDataset written in one task and read in another, which is lost
/// between pods (compile refuses it unless `--allow-memory-datasets`).
pub fn json(graph: &TaskGraph) -> String {
    #[derive(serde::Serialize)]
    struct Out<'a> {
        pipeline: &'a str,
        merge_strategy: &'a str,
        tasks: Vec<OutTask<'a>>,
        datasets_between_tasks: Vec<OutCrossing<'a>>,
    }
    #[derive(serde::Serialize)]
    struct OutTask<'a> {
        name: &'a str,
        nodes: Vec<&'a str>,
        after: &'a [String],
        whole_pipeline: bool,
    }
    #[derive(serde::Serialize)]
    struct OutCrossing<'a> {
        dataset: &'a str,
        from_task: &'a str,
        to_tasks: &'a [String],
        memory: bool,
    }
    let out = Out {
        pipeline: &graph.pipeline,
        merge_strategy: graph.strategy.as_str(),
        tasks: graph
            .tasks
            .iter()
            .map(|t| OutTask {
                name: &t.name,
                nodes: t.nodes.iter().map(|n| n.name.as_str()).collect(),
                after: &t.depends_on,
                whole_pipeline: t.whole_pipeline,
            })
            .collect(),
        datasets_between_tasks: graph
            .crossing
            .iter()
            .map(|c| OutCrossing {
                dataset: &c.dataset,
                from_task: &c.from_task,
                to_tasks: &c.to_tasks,
                memory: c.memory,
            })
            .collect(),
    };
    let mut s = serde_json::to_string_pretty(&out).unwrap_or_default();
    s.push('\n');
    s
}

/// Identifiers made of `[A-Za-z0-9_]`, prefixed and unique (`_2`, `_3`, … on collision).
fn ids<'a>(graph: &'a TaskGraph, prefix: &str) -> BTreeMap<&'a str, String> {
    let mut taken = HashSet::new();
    let mut ids = BTreeMap::new();
    for task in &graph.tasks {
        // Letters and digits kept, every run of anything else one `_`.
        let mut base = prefix.to_string();
        for c in task.name.chars() {
            if c.is_ascii_alphanumeric() {
                base.push(c);
            } else if !base.ends_with('_') {
                base.push('_');
            }
        }
        while base.len() > prefix.len() + 1 && base.ends_with('_') {
            base.pop();
        }
        let mut id = base.clone();
        let mut k = 2;
        while !taken.insert(id.clone()) {
            id = format!("{base}_{k}");
            k += 1;
        }
        ids.insert(task.name.as_str(), id);
    }
    ids
}

/// Mermaid label text inside `"…"`: entity codes for what Mermaid would read as syntax.
fn mermaid_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '#' => out.push_str("#35;"),
            '"' => out.push_str("#quot;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '|' => out.push_str("#124;"),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid `flowchart TD`: tasks as boxes listing their nodes, crossing datasets on the
/// edges; MemoryDatasets on dotted edges marked `MemoryDataset!`.
pub fn mermaid(graph: &TaskGraph) -> String {
    let ids = ids(graph, "t_");
    let mut s = String::from("flowchart TD\n");
    for task in &graph.tasks {
        let label = if is_lone_node(task) {
            mermaid_escape(&task.name)
        } else {
            let mut l = format!("<b>{}</b>", mermaid_escape(&task.name));
            for node in &task.nodes {
                l.push_str("<br/>");
                l.push_str(&mermaid_escape(&node.name));
            }
            l
        };
        let _ = writeln!(s, "    {}[\"{label}\"]", ids[task.name.as_str()]);
    }
    let mut memory_edges = Vec::new();
    for (k, (from, to, datasets)) in edges(graph).into_iter().enumerate() {
        let memory = datasets.iter().any(|(_, m)| *m);
        if memory {
            memory_edges.push(k.to_string());
        }
        let label = datasets
            .iter()
            .map(|(d, m)| {
                let d = mermaid_escape(d);
                if *m {
                    format!("{d} (MemoryDataset!)")
                } else {
                    d
                }
            })
            .collect::<Vec<_>>()
            .join("<br/>");
        let arrow = if memory { "-.->" } else { "-->" };
        if label.is_empty() {
            let _ = writeln!(s, "    {} {arrow} {}", ids[from], ids[to]);
        } else {
            let _ = writeln!(s, "    {} {arrow}|\"{label}\"| {}", ids[from], ids[to]);
        }
    }
    // MemoryDataset edges red as well as dotted (links are numbered in the order written).
    if !memory_edges.is_empty() {
        let _ = writeln!(
            s,
            "    linkStyle {} stroke:red,color:red",
            memory_edges.join(",")
        );
    }
    s
}

/// A DOT string literal.
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A Graphviz `digraph`: tasks as boxes listing their nodes, crossing datasets as edge labels;
/// MemoryDatasets on dashed red edges.
pub fn dot(graph: &TaskGraph) -> String {
    let ids = ids(graph, "t_");
    let mut s = format!("digraph {} {{\n", dot_quote(&graph.pipeline));
    s.push_str("    rankdir=TB;\n");
    s.push_str("    node [shape=box, fontname=\"Helvetica\"];\n");
    s.push_str("    edge [fontname=\"Helvetica\", fontsize=10];\n");
    for task in &graph.tasks {
        let mut label = task.name.clone();
        if !is_lone_node(task) {
            label.push('\n');
            for node in &task.nodes {
                label.push('\n');
                label.push_str(&node.name);
            }
        }
        let _ = writeln!(
            s,
            "    {} [label={}];",
            ids[task.name.as_str()],
            dot_quote(&label)
        );
    }
    for (from, to, datasets) in edges(graph) {
        let memory = datasets.iter().any(|(_, m)| *m);
        let label = datasets
            .iter()
            .map(|(d, m)| {
                if *m {
                    format!("{d} (MemoryDataset!)")
                } else {
                    d.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        let style = if memory {
            ", style=dashed, color=red, fontcolor=red"
        } else {
            ""
        };
        let _ = writeln!(
            s,
            "    {} -> {} [label={}{style}];",
            ids[from],
            ids[to],
            dot_quote(&label)
        );
    }
    s.push_str("}\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MergeStrategy;
    use crate::graph::{CrossingDataset, NodeDef};

    fn task(name: &str, nodes: &[&str], deps: &[&str]) -> Task {
        Task {
            name: name.into(),
            nodes: nodes
                .iter()
                .map(|n| NodeDef {
                    name: n.to_string(),
                    inputs: vec![],
                    outputs: vec![],
                    tags: vec![],
                    namespace: None,
                })
                .collect(),
            depends_on: deps.iter().map(|d| d.to_string()).collect(),
            whole_pipeline: false,
        }
    }

    fn graph() -> TaskGraph {
        TaskGraph {
            pipeline: "p".into(),
            strategy: MergeStrategy::Tags,
            tasks: vec![
                task("a.b", &["a.b"], &[]),
                task("a-b", &["x", "y"], &["a.b"]),
                task("say \"hi\"", &["say \"hi\""], &["a.b", "a-b"]),
            ],
            crossing: vec![
                CrossingDataset {
                    dataset: "d1".into(),
                    from_task: "a.b".into(),
                    to_tasks: vec!["a-b".into(), "say \"hi\"".into()],
                    memory: false,
                },
                CrossingDataset {
                    dataset: "m".into(),
                    from_task: "a-b".into(),
                    to_tasks: vec!["say \"hi\"".into()],
                    memory: true,
                },
            ],
        }
    }

    #[test]
    fn ids_are_safe_and_unique() {
        let g = graph();
        let ids = ids(&g, "t_");
        assert_eq!(ids["a.b"], "t_a_b");
        assert_eq!(ids["a-b"], "t_a_b_2");
        assert_eq!(ids["say \"hi\""], "t_say_hi");
    }

    #[test]
    fn mermaid_escapes_labels_and_marks_memory_edges() {
        let m = mermaid(&graph());
        assert_eq!(
            m,
            "flowchart TD\n\
             \x20   t_a_b[\"a.b\"]\n\
             \x20   t_a_b_2[\"<b>a-b</b><br/>x<br/>y\"]\n\
             \x20   t_say_hi[\"say #quot;hi#quot;\"]\n\
             \x20   t_a_b -->|\"d1\"| t_a_b_2\n\
             \x20   t_a_b -->|\"d1\"| t_say_hi\n\
             \x20   t_a_b_2 -.->|\"m (MemoryDataset!)\"| t_say_hi\n\
             \x20   linkStyle 2 stroke:red,color:red\n"
        );
    }

    #[test]
    fn json_lists_the_tasks_and_marks_memory_datasets() {
        let v: serde_json::Value = serde_json::from_str(&json(&graph())).unwrap();
        assert_eq!(v["pipeline"], "p");
        assert_eq!(v["merge_strategy"], "tags");
        let names: Vec<&str> = v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a.b", "a-b", "say \"hi\""]);
        assert_eq!(v["tasks"][1]["nodes"], serde_json::json!(["x", "y"]));
        assert_eq!(v["tasks"][1]["after"], serde_json::json!(["a.b"]));
        let m = &v["datasets_between_tasks"][1];
        assert_eq!(m["dataset"], "m");
        assert_eq!(m["memory"], true);
        assert_eq!(v["datasets_between_tasks"][0]["memory"], false);
    }

    #[test]
    fn dot_quotes_labels() {
        let d = dot(&graph());
        assert!(
            d.contains("    t_say_hi [label=\"say \\\"hi\\\"\"];\n"),
            "{d}"
        );
        assert!(
            d.contains("    t_a_b_2 [label=\"a-b\\n\\nx\\ny\"];\n"),
            "{d}"
        );
        assert!(d.contains(
            "    t_a_b_2 -> t_say_hi [label=\"m (MemoryDataset!)\", style=dashed, color=red, fontcolor=red];\n"
        ));
    }

    #[test]
    fn text_flags_memory_datasets() {
        let t = text(&graph());
        assert!(t.starts_with("pipeline p (merge strategy: tags): 4 nodes in 3 tasks\n"));
        assert!(t.contains("\ntask a-b\n  nodes: x, y\n  after: a.b\n"));
        assert!(t.contains("  m [MemoryDataset: lost between pods]: a-b -> say \"hi\"\n"));
        assert!(t.contains("  d1: a.b -> a-b, say \"hi\"\n"));
    }
}
