//! Planning: which revisions an upgrade or a downgrade runs, in which order. Pure
//! functions of the graph and the applied set.

use crate::model::graph::Graph;

/// A plan that cannot be made as asked (`upgrade +3` with two pending, a downgrade to a
/// revision that is not applied): bad input, in words for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlanError(pub String);

type Result<T> = std::result::Result<T, PlanError>;

/// Everything `targets` needs that is not applied yet, parents first.
pub fn upgrade_to(graph: &Graph, applied: &[bool], targets: &[usize]) -> Vec<usize> {
    let needed = graph.ancestors(targets);
    graph
        .topo_order()
        .iter()
        .copied()
        .filter(|&r| needed[r] && !applied[r])
        .collect()
}

/// `upgrade +N`: the next `n` pending revisions on the way to the single head.
pub fn upgrade_steps(graph: &Graph, applied: &[bool], head: usize, n: u64) -> Result<Vec<usize>> {
    let pending = upgrade_to(graph, applied, &[head]);
    if (pending.len() as u64) < n {
        return Err(PlanError(format!(
            "`upgrade +{n}`: only {} migration{} pending",
            pending.len(),
            if pending.len() == 1 { " is" } else { "s are" }
        )));
    }
    Ok(pending.into_iter().take(n as usize).collect())
}

/// Back to `targets`: every applied revision that revises them, directly or not,
/// children first. `targets` empty means base: everything applied.
pub fn downgrade_to(graph: &Graph, applied: &[bool], targets: &[usize]) -> Result<Vec<usize>> {
    if let Some(&missing) = targets.iter().find(|&&t| !applied[t]) {
        return Err(PlanError(format!(
            "`{}` is not applied, so the database cannot go back to it; \
             `current` shows where the database is",
            graph.id(missing)
        )));
    }
    let remove: Vec<bool> = if targets.is_empty() {
        applied.to_vec()
    } else {
        let mut below = graph.descendants(targets);
        for &t in targets {
            below[t] = false;
        }
        below
    };
    Ok(graph
        .topo_order()
        .iter()
        .rev()
        .copied()
        .filter(|&r| remove[r] && applied[r])
        .collect())
}

/// `downgrade -N`: un-apply the database's single current revision, `n` times.
pub fn downgrade_steps(graph: &Graph, applied: &[bool], n: u64) -> Result<Vec<usize>> {
    let mut applied = applied.to_vec();
    let mut steps = Vec::new();
    for done in 0..n {
        let current = graph.frontier(&applied);
        match current.as_slice() {
            [] => {
                return Err(PlanError(format!(
                    "`downgrade -{n}`: only {done} migration{} applied",
                    if done == 1 { " is" } else { "s are" }
                )));
            }
            [one] => {
                applied[*one] = false;
                steps.push(*one);
            }
            several => {
                let names: Vec<&str> = several.iter().map(|&r| graph.id(r)).collect();
                return Err(PlanError(format!(
                    "`downgrade -{n}` is ambiguous: the database is at {} revisions ({}); \
                     name the revision to go back to, e.g. `downgrade {}`",
                    names.len(),
                    names.join(", "),
                    graph
                        .parents(several[0])
                        .first()
                        .map_or("base", |&p| graph.id(p))
                )));
            }
        }
    }
    Ok(steps)
}

/// The applied set `stamp` records: exactly the ancestry of `targets`.
pub fn stamp_set(graph: &Graph, targets: &[usize]) -> Vec<bool> {
    graph.ancestors(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::model::graph::ids;
    use crate::model::testing::{diamond, set};

    #[test]
    fn upgrade_runs_missing_ancestors_parents_first() {
        let g = diamond();
        let m = g.find("m").unwrap();
        let plan = upgrade_to(&g, &set(&g, &["a", "b"]), &[m]);
        assert_eq!(ids(&g, &plan), ["c", "d", "m"]);
        let c = g.find("c").unwrap();
        assert_eq!(ids(&g, &upgrade_to(&g, &set(&g, &["a"]), &[c])), ["b", "c"]);
        assert!(upgrade_to(&g, &set(&g, &["a", "b", "c"]), &[c]).is_empty());
    }

    #[test]
    fn upgrade_plus_n_takes_the_next_pending() {
        let g = diamond();
        let m = g.find("m").unwrap();
        let plan = upgrade_steps(&g, &set(&g, &["a"]), m, 2).unwrap();
        assert_eq!(ids(&g, &plan), ["b", "c"]);
        let err = upgrade_steps(&g, &set(&g, &["a", "b", "c", "d"]), m, 2).unwrap_err();
        assert_eq!(err.to_string(), "`upgrade +2`: only 1 migration is pending");
    }

    #[test]
    fn downgrade_across_a_merge_removes_descendants_children_first() {
        let g = diamond();
        let all = set(&g, &["a", "b", "c", "d", "m"]);
        let b = g.find("b").unwrap();
        assert_eq!(ids(&g, &downgrade_to(&g, &all, &[b]).unwrap()), ["m", "c"]);
        assert_eq!(
            ids(&g, &downgrade_to(&g, &all, &[]).unwrap()),
            ["m", "d", "c", "b", "a"]
        );
        let err = downgrade_to(&g, &set(&g, &["a"]), &[b]).unwrap_err();
        assert!(err.to_string().starts_with("`b` is not applied"), "{err}");
    }

    #[test]
    fn downgrade_minus_n_walks_the_single_current_revision() {
        let g = diamond();
        let all = set(&g, &["a", "b", "c", "d", "m"]);
        assert_eq!(ids(&g, &downgrade_steps(&g, &all, 1).unwrap()), ["m"]);
        let err = downgrade_steps(&g, &all, 2).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`downgrade -2` is ambiguous: the database is at 2 revisions (c, d); \
             name the revision to go back to, e.g. `downgrade b`"
        );
        let err = downgrade_steps(&g, &set(&g, &["a"]), 3).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`downgrade -3`: only 1 migration is applied"
        );
    }
}
