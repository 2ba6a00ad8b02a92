//! Fixtures the model's unit tests share.

use crate::model::graph::{Graph, Node};

/// a -> b -> c, a -> d, (c, d) -> m, registered a, b, c, d, m.
pub fn diamond() -> Graph {
    diamond_registered(["a", "b", "c", "d", "m"])
}

/// The same diamond, its revisions registered in `order` (which breaks ties in the
/// graph's orders).
pub fn diamond_registered(order: [&str; 5]) -> Graph {
    let parents = |id: &str| -> &'static [&'static str] {
        match id {
            "a" => &[],
            "b" | "d" => &["a"],
            "c" => &["b"],
            "m" => &["c", "d"],
            other => panic!("`{other}` is not in the diamond"),
        }
    };
    Graph::build(order.map(|id| Node::new(id, parents(id)))).unwrap()
}

/// The applied set of `g` in which exactly `ids` are applied.
pub fn set(g: &Graph, ids: &[&str]) -> Vec<bool> {
    let mut s = vec![false; g.len()];
    for id in ids {
        s[g.find(id).unwrap()] = true;
    }
    s
}
