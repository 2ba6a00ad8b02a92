//! The revision graph: which revision revises which, its heads and bases, and a
//! deterministic topological order. Every algorithm here is linear in revisions plus
//! edges (prefix lookup is a binary search), so a 10,000-revision history costs
//! milliseconds.
//!
//! Revisions are addressed by their index in registration order (`migrations()` order),
//! which is also the tie-break everywhere an order is not forced by the edges.

use std::collections::HashMap;
use std::fmt;

/// One revision as declared by the migration crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The revision's id.
    pub id: String,
    /// `Some(parents)` when the migration declares what it revises (`&[]` = a base);
    /// `None` for a legacy sea-orm-cli migration, which revises the one registered
    /// before it.
    pub parents: Option<Vec<String>>,
}

impl Node {
    /// A revision that revises `parents` (none: a base).
    pub fn new(id: impl Into<String>, parents: &[&str]) -> Self {
        Node {
            id: id.into(),
            parents: Some(parents.iter().map(|p| p.to_string()).collect()),
        }
    }

    /// A legacy revision: it revises the one registered before it.
    pub fn legacy(id: impl Into<String>) -> Self {
        Node {
            id: id.into(),
            parents: None,
        }
    }
}

/// A graph that cannot be used: each names the revisions (files) at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Two revisions with the same id.
    #[error("revision `{id}` is registered twice; each migration file must have its own id")]
    Duplicate {
        /// The id registered twice.
        id: String,
    },
    /// A parent that is not a registered revision.
    #[error("revision `{child}` revises `{parent}`, which is not a registered revision")]
    UnknownParent {
        /// The revision that names it.
        child: String,
        /// The id it names.
        parent: String,
    },
    /// A revision that revises itself.
    #[error("revision `{id}` lists itself among the revisions it revises")]
    SelfLoop {
        /// The revision.
        id: String,
    },
    /// Revisions that revise each other in a cycle.
    #[error("revisions form a cycle: {}", .ids.join(" -> "))]
    Cycle {
        /// The revisions around the cycle, the first repeated at the end.
        ids: Vec<String>,
    },
    /// An id a revision spec would read as something else (or an empty one).
    #[error("revision id `{id}` is not valid: {why}")]
    InvalidId {
        /// The id, as registered.
        id: String,
        /// What is wrong with it.
        why: &'static str,
    },
}

/// The revisions of a crate with their edges, indexed by registration order.
#[derive(Debug, Clone)]
pub struct Graph {
    ids: Vec<String>,
    index: HashMap<String, usize>,
    parents: Vec<Vec<usize>>,
    children: Vec<Vec<usize>>,
    /// Parents before children; ties broken by registration order.
    order: Vec<usize>,
    /// Position of each revision in `order`.
    rank: Vec<usize>,
    /// Revision indices sorted by id, for prefix lookup.
    by_id: Vec<usize>,
}

impl Graph {
    /// Builds the graph, checking ids, parents and that there is no cycle.
    pub fn build(nodes: impl IntoIterator<Item = Node>) -> Result<Graph, GraphError> {
        let nodes: Vec<Node> = nodes.into_iter().collect();
        let mut index = HashMap::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            validate_id(&node.id)?;
            if index.insert(node.id.clone(), i).is_some() {
                return Err(GraphError::Duplicate {
                    id: node.id.clone(),
                });
            }
        }
        let mut parents = Vec::with_capacity(nodes.len());
        for (i, node) in nodes.iter().enumerate() {
            let resolved = match &node.parents {
                None => i.checked_sub(1).into_iter().collect(),
                Some(declared) => {
                    let mut resolved: Vec<usize> = Vec::with_capacity(declared.len());
                    for parent in declared {
                        let p = *index.get(parent).ok_or_else(|| GraphError::UnknownParent {
                            child: node.id.clone(),
                            parent: parent.clone(),
                        })?;
                        if p == i {
                            return Err(GraphError::SelfLoop {
                                id: node.id.clone(),
                            });
                        }
                        if !resolved.contains(&p) {
                            resolved.push(p);
                        }
                    }
                    resolved
                }
            };
            parents.push(resolved);
        }
        let mut children = vec![Vec::new(); nodes.len()];
        for (child, ps) in parents.iter().enumerate() {
            for &p in ps {
                children[p].push(child);
            }
        }
        let ids: Vec<String> = nodes.into_iter().map(|n| n.id).collect();
        let order = topological_order(&ids, &parents)?;
        let mut rank = vec![0; ids.len()];
        for (pos, &i) in order.iter().enumerate() {
            rank[i] = pos;
        }
        let mut by_id: Vec<usize> = (0..ids.len()).collect();
        by_id.sort_unstable_by(|&a, &b| ids[a].cmp(&ids[b]));
        Ok(Graph {
            ids,
            index,
            parents,
            children,
            order,
            rank,
            by_id,
        })
    }

    /// The number of revisions.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no revisions.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The id of revision `rev`.
    pub fn id(&self, rev: usize) -> &str {
        &self.ids[rev]
    }

    /// The revision whose id is exactly `id`.
    pub fn find(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The revisions `rev` revises.
    pub fn parents(&self, rev: usize) -> &[usize] {
        &self.parents[rev]
    }

    /// The revisions that revise `rev`.
    pub fn children(&self, rev: usize) -> &[usize] {
        &self.children[rev]
    }

    /// Whether no revision revises `rev`.
    pub fn is_head(&self, rev: usize) -> bool {
        self.children[rev].is_empty()
    }

    /// Whether `rev` revises nothing.
    pub fn is_base(&self, rev: usize) -> bool {
        self.parents[rev].is_empty()
    }

    /// Whether several revisions revise `rev`.
    pub fn is_branch_point(&self, rev: usize) -> bool {
        self.children[rev].len() > 1
    }

    /// Whether `rev` revises several revisions (a merge).
    pub fn is_merge_point(&self, rev: usize) -> bool {
        self.parents[rev].len() > 1
    }

    /// Revisions with no children, in topological order.
    pub fn heads(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&r| self.is_head(r))
            .collect()
    }

    /// Revisions with no parents, in topological order.
    pub fn bases(&self) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&r| self.is_base(r))
            .collect()
    }

    /// Every revision, parents before children (the order upgrades run in).
    pub fn topo_order(&self) -> &[usize] {
        &self.order
    }

    /// Position of `rev` in [`Graph::topo_order`].
    pub fn rank(&self, rev: usize) -> usize {
        self.rank[rev]
    }

    /// Marks `targets` and everything they revise, directly or not.
    pub fn ancestors(&self, targets: &[usize]) -> Vec<bool> {
        self.reach(targets, &self.parents)
    }

    /// Marks `targets` and everything that revises them, directly or not.
    pub fn descendants(&self, targets: &[usize]) -> Vec<bool> {
        self.reach(targets, &self.children)
    }

    fn reach(&self, targets: &[usize], edges: &[Vec<usize>]) -> Vec<bool> {
        let mut seen = vec![false; self.len()];
        let mut stack: Vec<usize> = Vec::with_capacity(targets.len());
        for &t in targets {
            if !seen[t] {
                seen[t] = true;
                stack.push(t);
            }
        }
        while let Some(r) = stack.pop() {
            for &next in &edges[r] {
                if !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
        seen
    }

    /// The revisions of `set` none of whose children are in `set`, in topological
    /// order: the "current" revisions of an applied set, or the heads of a subgraph.
    pub fn frontier(&self, set: &[bool]) -> Vec<usize> {
        self.order
            .iter()
            .copied()
            .filter(|&r| set[r] && !self.children[r].iter().any(|&c| set[c]))
            .collect()
    }

    /// Revisions whose id starts with `prefix`, sorted by id.
    pub fn with_prefix(&self, prefix: &str) -> Vec<usize> {
        let start = self
            .by_id
            .partition_point(|&r| self.ids[r].as_str() < prefix);
        self.by_id[start..]
            .iter()
            .copied()
            .take_while(|&r| self.ids[r].starts_with(prefix))
            .collect()
    }
}

/// The ids of the revisions `revs` of `graph`, in the same order.
pub fn ids(graph: &Graph, revs: &[usize]) -> Vec<String> {
    revs.iter().map(|&r| graph.id(r).to_string()).collect()
}

fn validate_id(id: &str) -> Result<(), GraphError> {
    let why = if id.is_empty() {
        "it is empty"
    } else if id.contains(':') {
        "`:` separates the two ends of a range"
    } else if id.contains('+') {
        "`+` introduces a relative step"
    } else if id.chars().any(|c| c.is_whitespace() || c.is_control()) {
        "it contains white space"
    } else if matches!(id, "head" | "heads" | "base" | "current") {
        "it is a reserved word"
    } else {
        return Ok(());
    };
    Err(GraphError::InvalidId {
        id: id.to_string(),
        why,
    })
}

/// Depth-first post-order from every revision in registration order, visiting parents
/// in their declared order: parents come before children, unrelated revisions keep
/// registration order, and a cycle is reported with its members. Iterative, so a
/// 10,000-deep chain does not exhaust the stack.
fn topological_order(ids: &[String], parents: &[Vec<usize>]) -> Result<Vec<usize>, GraphError> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; ids.len()];
    let mut order = Vec::with_capacity(ids.len());
    // (revision, index of the next parent to visit)
    let mut path: Vec<(usize, usize)> = Vec::new();
    for root in 0..ids.len() {
        if mark[root] != Mark::New {
            continue;
        }
        mark[root] = Mark::OnPath;
        path.push((root, 0));
        while let Some(&mut (rev, ref mut next)) = path.last_mut() {
            if let Some(&p) = parents[rev].get(*next) {
                *next += 1;
                match mark[p] {
                    Mark::New => {
                        mark[p] = Mark::OnPath;
                        path.push((p, 0));
                    }
                    Mark::OnPath => {
                        let start = path.iter().position(|&(r, _)| r == p).unwrap_or(0);
                        let mut cycle: Vec<String> =
                            path[start..].iter().map(|&(r, _)| ids[r].clone()).collect();
                        cycle.push(ids[p].clone());
                        return Err(GraphError::Cycle { ids: cycle });
                    }
                    Mark::Done => {}
                }
            } else {
                mark[rev] = Mark::Done;
                order.push(rev);
                path.pop();
            }
        }
    }
    Ok(order)
}

impl fmt::Display for Graph {
    /// One line per revision, newest first: `parents -> id`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &r in self.order.iter().rev() {
            let ps: Vec<&str> = self.parents[r].iter().map(|&p| self.id(p)).collect();
            writeln!(f, "{} -> {}", ps.join(", "), self.id(r))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::testing::diamond_registered;

    /// The diamond with `d` registered before `c`: ties follow registration order.
    fn diamond() -> Graph {
        diamond_registered(["a", "b", "d", "c", "m"])
    }

    #[test]
    fn heads_bases_and_order_of_a_merged_branch() {
        let g = diamond();
        assert_eq!(ids(&g, &g.heads()), ["m"]);
        assert_eq!(ids(&g, &g.bases()), ["a"]);
        assert_eq!(ids(&g, g.topo_order()), ["a", "b", "d", "c", "m"]);
        let a = g.find("a").unwrap();
        assert!(g.is_branch_point(a));
        assert!(g.is_merge_point(g.find("m").unwrap()));
    }

    #[test]
    fn parents_always_precede_children_even_when_registered_later() {
        let g = Graph::build([Node::new("child", &["parent"]), Node::new("parent", &[])]).unwrap();
        assert_eq!(ids(&g, g.topo_order()), ["parent", "child"]);
    }

    #[test]
    fn legacy_migrations_form_a_chain_in_registration_order() {
        let g = Graph::build([
            Node::legacy("m1"),
            Node::legacy("m2"),
            Node::legacy("m3"),
            Node::new("m4", &["m3"]),
        ])
        .unwrap();
        assert_eq!(ids(&g, &g.heads()), ["m4"]);
        assert_eq!(ids(&g, g.parents(g.find("m3").unwrap())), ["m2"]);
        assert!(g.is_base(g.find("m1").unwrap()));
    }

    #[test]
    fn two_branches_are_two_heads() {
        let g = Graph::build([
            Node::new("a", &[]),
            Node::new("b", &["a"]),
            Node::new("c", &["a"]),
        ])
        .unwrap();
        assert_eq!(ids(&g, &g.heads()), ["b", "c"]);
    }

    #[test]
    fn ancestors_descendants_and_frontier() {
        let g = diamond();
        let c = g.find("c").unwrap();
        let anc = g.ancestors(&[c]);
        let marked: Vec<&str> = (0..g.len()).filter(|&r| anc[r]).map(|r| g.id(r)).collect();
        assert_eq!(marked, ["a", "b", "c"]);
        let desc = g.descendants(&[g.find("b").unwrap()]);
        let marked: Vec<&str> = (0..g.len()).filter(|&r| desc[r]).map(|r| g.id(r)).collect();
        assert_eq!(marked, ["b", "c", "m"]);
        let mut applied = anc.clone();
        applied[g.find("d").unwrap()] = true;
        assert_eq!(ids(&g, &g.frontier(&applied)), ["d", "c"]);
    }

    #[test]
    fn prefix_lookup() {
        let g = Graph::build([
            Node::new("m20260101_000000_a", &[]),
            Node::new("m20260102_000000_b", &["m20260101_000000_a"]),
            Node::new("m20260102_000001_c", &["m20260102_000000_b"]),
        ])
        .unwrap();
        assert_eq!(g.with_prefix("m202601").len(), 3);
        assert_eq!(
            ids(&g, &g.with_prefix("m20260102_000000")),
            ["m20260102_000000_b"]
        );
        assert!(g.with_prefix("m3").is_empty());
    }

    #[test]
    fn errors_name_the_revisions_at_fault() {
        let dup = Graph::build([Node::new("a", &[]), Node::new("a", &[])]).unwrap_err();
        assert_eq!(dup, GraphError::Duplicate { id: "a".into() });
        assert_eq!(
            dup.to_string(),
            "revision `a` is registered twice; each migration file must have its own id"
        );
        let unknown = Graph::build([Node::new("a", &["zz"])]).unwrap_err();
        assert_eq!(
            unknown.to_string(),
            "revision `a` revises `zz`, which is not a registered revision"
        );
        let self_loop = Graph::build([Node::new("a", &["a"])]).unwrap_err();
        assert_eq!(self_loop, GraphError::SelfLoop { id: "a".into() });
        let cycle = Graph::build([
            Node::new("a", &["c"]),
            Node::new("b", &["a"]),
            Node::new("c", &["b"]),
        ])
        .unwrap_err();
        assert_eq!(
            cycle.to_string(),
            "revisions form a cycle: a -> c -> b -> a"
        );
        let reserved = Graph::build([Node::new("head", &[])]).unwrap_err();
        assert!(matches!(reserved, GraphError::InvalidId { .. }));
    }

    #[test]
    fn a_ten_thousand_deep_chain_does_not_overflow_the_stack() {
        let n = 10_000;
        let nodes = (0..n).map(|i| {
            let id = format!("r{i:05}");
            if i == 0 {
                Node::new(id, &[])
            } else {
                Node {
                    id,
                    parents: Some(vec![format!("r{:05}", i - 1)]),
                }
            }
        });
        // registered newest first: the DFS must walk the whole chain from the first node
        let mut nodes: Vec<Node> = nodes.collect();
        nodes.reverse();
        let g = Graph::build(nodes).unwrap();
        assert_eq!(g.id(g.topo_order()[0]), "r00000");
        assert_eq!(ids(&g, &g.heads()), ["r09999"]);
    }
}
