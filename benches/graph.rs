//! Graph code on a generated 10,000-revision history with branches and merges:
//! building the graph, heads, history order, ancestry, spec resolution and a range.
//! Run: `cargo bench --bench graph`. Prints a markdown table (median and min of 21 runs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use cargo_migrate::__private::graph::{Graph, Node};
use cargo_migrate::__private::spec::{Resolver, parse_range};

const REVISIONS: usize = 10_000;

/// A main chain where every 10th revision opens a 3-revision side branch that a merge
/// revision joins back: ~1,000 branch points and ~1,000 merges, one head.
fn nodes() -> Vec<Node> {
    let id = |i: usize| format!("m2026{:04}_{:06}_rev_{i}", i / 1000, i % 1_000_000);
    let mut nodes: Vec<Node> = Vec::with_capacity(REVISIONS);
    let mut tip: Option<String> = None;
    let mut i = 0;
    while nodes.len() < REVISIONS {
        let parents: Vec<String> = tip.iter().cloned().collect();
        let this = id(i);
        i += 1;
        if nodes.len() % 10 == 9 && nodes.len() + 5 <= REVISIONS {
            // side branch of 3 from `tip`, a main revision beside it, then the merge
            let fork = this.clone();
            nodes.push(Node {
                id: fork.clone(),
                parents: Some(parents),
            });
            let mut side = fork.clone();
            for _ in 0..3 {
                let s = id(i);
                i += 1;
                nodes.push(Node {
                    id: s.clone(),
                    parents: Some(vec![side]),
                });
                side = s;
            }
            let main = id(i);
            i += 1;
            nodes.push(Node {
                id: main.clone(),
                parents: Some(vec![fork]),
            });
            let merge = id(i);
            i += 1;
            nodes.push(Node {
                id: merge.clone(),
                parents: Some(vec![main, side]),
            });
            tip = Some(merge);
        } else {
            nodes.push(Node {
                id: this.clone(),
                parents: Some(parents),
            });
            tip = Some(this);
        }
    }
    nodes
}

fn measure(name: &str, target: &str, mut f: impl FnMut()) {
    let mut times: Vec<Duration> = (0..21)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    println!(
        "| {name} | {:.3} ms | {:.3} ms | {target} |",
        times[times.len() / 2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0
    );
}

fn main() {
    let nodes = nodes();
    let g = Graph::build(nodes.clone()).expect("valid graph");
    let head = g.heads();
    assert_eq!(head.len(), 1, "one head");
    let merges = (0..g.len()).filter(|&r| g.is_merge_point(r)).count();
    let branch_points = (0..g.len()).filter(|&r| g.is_branch_point(r)).count();
    println!(
        "{} revisions, {branch_points} branch points, {merges} merges\n",
        g.len()
    );
    println!("| operation | median | min | target |\n|---|---|---|---|");
    measure("build the graph (10,000 revisions)", "< 10 ms", || {
        black_box(Graph::build(black_box(nodes.clone())).expect("graph"));
    });
    measure("heads", "< 10 ms", || {
        black_box(g.heads());
    });
    measure("history order (newest first)", "< 10 ms", || {
        black_box(g.topo_order().iter().rev().copied().collect::<Vec<_>>());
    });
    measure("ancestors of head (upgrade plan)", "< 10 ms", || {
        black_box(g.ancestors(&head));
    });
    let resolver = Resolver::new(&g, None);
    let full = g.id(g.topo_order()[g.len() / 2]).to_string();
    let prefix = full[..full.len() - 2].to_string();
    let chain_start = g.id(g.topo_order()[1]).to_string();
    for (label, spec) in [
        ("resolve `head`".to_string(), "head".to_string()),
        ("resolve a full id".to_string(), full.clone()),
        (format!("resolve a prefix (`{prefix}`)"), prefix.clone()),
        ("resolve `head-1`".to_string(), "head-1".to_string()),
        (
            format!("resolve `<rev>+5` (`{chain_start}+5`)"),
            format!("{chain_start}+5"),
        ),
    ] {
        let resolved = resolver.resolve_str(&spec);
        if resolved.is_err() {
            println!(
                "| {label} | error: {} | | |",
                resolved.err().map(|e| e.to_string()).unwrap_or_default()
            );
            continue;
        }
        measure(&label, "< 10 ms", || {
            black_box(resolver.resolve_str(black_box(&spec)).ok());
        });
    }
    let range = parse_range(&format!("{full}:head")).expect("range");
    measure("history range `<mid>:head`", "< 10 ms", || {
        black_box(resolver.range(&range).ok());
    });
}
