//! Revision specs, Alembic's grammar:
//!
//! - `head` (the single head), `heads`, `base` (the empty state), `current` (the
//!   database's current revisions);
//! - a full revision id, or a unique prefix of at least 4 characters, the leading `m`
//!   optional (`20261122_1015` finds `m20261122_101500_add_users`);
//! - `+N` / `-N`: N steps from the current revision; `<rev>+N`, `<rev>-N`, `head-N`,
//!   `base+N`: N steps from another revision;
//! - for `history -r`, ranges `START:END`, `START:` and `:END`.
//!
//! Every error is one line saying what was expected. Walks and ranges are linear in the
//! graph's size; prefix lookup is a binary search.

use crate::model::graph::{Graph, ids};
use crate::model::messages;

/// A parsed revision spec (no range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spec {
    /// `head`: the single head.
    Head,
    /// `heads`: every head.
    Heads,
    /// `base`: the empty state, below every revision.
    Base,
    /// `current`: the database's current revisions.
    Current,
    /// A full id or a prefix, as typed.
    Rev(String),
    /// `+N` / `-N` from the database's current revision.
    Relative(i64),
    /// `<anchor>+N` / `<anchor>-N`.
    Offset(Box<Spec>, i64),
}

impl Spec {
    /// Whether the spec can only be resolved against the database's state.
    pub fn needs_state(&self) -> bool {
        match self {
            Spec::Current | Spec::Relative(_) => true,
            Spec::Offset(anchor, _) => anchor.needs_state(),
            _ => false,
        }
    }
}

/// Parses `input` for a crate whose revisions are `graph`: an input equal to a revision
/// id (around white space) always means that revision, before the grammar is applied.
/// The one place that rule lives.
pub fn parse_with(graph: &Graph, input: &str) -> Result<Spec, SpecError> {
    let t = input.trim();
    match graph.find(t) {
        Some(_) => Ok(Spec::Rev(t.to_string())),
        None => parse(input),
    }
}

/// A revision spec as the runtime's verbs take it: a [`Spec`] parsed once already, or
/// text, parsed with [`parse_with`]'s exact-id rule.
pub trait AsSpec {
    /// The spec, for a crate whose revisions are `graph`.
    fn as_spec(&self, graph: &Graph) -> Result<Spec, SpecError>;
}

impl AsSpec for Spec {
    fn as_spec(&self, _graph: &Graph) -> Result<Spec, SpecError> {
        Ok(self.clone())
    }
}

impl AsSpec for str {
    fn as_spec(&self, graph: &Graph) -> Result<Spec, SpecError> {
        parse_with(graph, self)
    }
}

impl AsSpec for String {
    fn as_spec(&self, graph: &Graph) -> Result<Spec, SpecError> {
        parse_with(graph, self)
    }
}

impl<T: AsSpec + ?Sized> AsSpec for &T {
    fn as_spec(&self, graph: &Graph) -> Result<Spec, SpecError> {
        (**self).as_spec(graph)
    }
}

/// A `history -r` range, `START:END`; a missing side is open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeSpec {
    /// The oldest revision shown; `None`: from the bases.
    pub start: Option<Spec>,
    /// The newest revision shown; `None`: up to the heads.
    pub end: Option<Spec>,
}

const EXPECTED: &str =
    "expected `head`, `heads`, `base`, `current`, a revision id, `+N`, `-N` or `<rev>±N`";

/// A spec that does not parse or does not resolve; each says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Input that is not a spec.
    #[error("`{input}` is not a revision: {why}; {EXPECTED}")]
    Syntax {
        /// The input, on one line.
        input: String,
        /// What is wrong with it.
        why: String,
    },
    /// A range where one revision was expected.
    #[error("`{0}` is a range; ranges are only accepted by `history -r START:END`")]
    RangeNotAllowed(String),
    /// A range that is not `START:END`, `START:` or `:END`.
    #[error("`{0}` is not a history range: expected `START:END`, `START:` or `:END`")]
    BadRange(String),
    /// A prefix shorter than 4 characters.
    #[error("`{0}` is too short: give at least 4 characters of a revision id")]
    TooShort(String),
    /// No revision has this id or prefix.
    #[error("no revision matches `{0}`; `history` lists the revision ids")]
    UnknownRevision(String),
    /// A prefix that several revisions share.
    #[error("`{input}` matches {count} revisions: {list}; give more characters")]
    Ambiguous {
        /// The prefix, as typed.
        input: String,
        /// How many revisions it matches.
        count: usize,
        /// Those revisions, comma-separated.
        list: String,
    },
    /// `head` (or a walk from `heads`) when there are several heads.
    #[error("{}", messages::multiple_heads(.heads))]
    MultipleHeads {
        /// The heads, in topological order.
        heads: Vec<String>,
    },
    /// A step from `current` when the database is at several revisions.
    #[error(
        "the database is at {} revisions ({}); name the revision you mean instead of a relative step",
        .current.len(), .current.join(", ")
    )]
    AmbiguousCurrent {
        /// The database's current revisions.
        current: Vec<String>,
    },
    /// A walk that meets a branch point or a merge and cannot choose.
    #[error("`{input}` is ambiguous: `{at}` {what} ({}); name the revision you mean", .options.join(", "))]
    AmbiguousWalk {
        /// The spec, as typed.
        input: String,
        /// The revision where the walk forks.
        at: String,
        /// What it is there (`is a branch point`, `is a merge of`, ...).
        what: &'static str,
        /// The revisions it could go on to.
        options: Vec<String>,
    },
    /// A forward walk longer than the revisions above its start.
    #[error("`{input}` goes past the head `{head}` (only {available} revisions above)")]
    PastHead {
        /// The spec, as typed.
        input: String,
        /// The head it reached.
        head: String,
        /// How many steps there were.
        available: u64,
    },
    /// A backward walk past the bases.
    #[error("`{0}` goes below base")]
    BelowBase(String),
    /// A relative step from a spec that names several revisions.
    #[error("`{0}` names several revisions; a relative step needs exactly one")]
    SetAnchor(String),
    /// A range whose start is not an ancestor of its end.
    #[error("range `{range}`: `{start}` is not an ancestor of `{end}`")]
    NotAncestor {
        /// The range, as typed.
        range: String,
        /// Its start.
        start: String,
        /// Its end.
        end: String,
    },
    /// `current` or a relative step where the verb reads no database.
    #[error("`{0}` needs the database's state, which this verb does not read")]
    NeedsDatabase(String),
}

fn syntax(input: &str, why: &str) -> SpecError {
    SpecError::Syntax {
        input: shown(input),
        why: why.to_string(),
    }
}

/// Input as an error shows it: on one line, control characters escaped.
fn shown(input: &str) -> String {
    crate::text::one_line(input)
}

/// Parses one spec (no ranges).
pub fn parse(input: &str) -> Result<Spec, SpecError> {
    let t = input.trim();
    if t.is_empty() {
        return Err(syntax(input, "it is empty"));
    }
    if t.contains(':') {
        return Err(SpecError::RangeNotAllowed(shown(t)));
    }
    if t.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(syntax(t, "it contains white space"));
    }
    // `<anchor>±N`: the last `+`/`-` followed only by digits.
    if let Some(pos) = t.rfind(['+', '-']) {
        let digits = &t[pos + 1..];
        if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
            let n: i64 = digits
                .parse()
                .map_err(|_| syntax(t, "the step count is too large"))?;
            if n == 0 {
                return Err(syntax(t, "a relative step must be at least 1"));
            }
            let n = if t.as_bytes()[pos] == b'-' { -n } else { n };
            let anchor = &t[..pos];
            if anchor.is_empty() {
                return Ok(Spec::Relative(n));
            }
            if anchor.ends_with(['+', '-']) {
                return Err(syntax(t, "it has two signs"));
            }
            return Ok(Spec::Offset(Box::new(symbol(anchor)), n));
        }
        if t.starts_with(['+', '-']) || t.ends_with(['+', '-']) {
            return Err(syntax(
                t,
                "a relative step is a sign and a number, like `-1`",
            ));
        }
    }
    if t.contains('+') {
        return Err(syntax(t, "`+` must be followed by a number"));
    }
    Ok(symbol(t))
}

fn symbol(t: &str) -> Spec {
    match t {
        "head" => Spec::Head,
        "heads" => Spec::Heads,
        "base" => Spec::Base,
        "current" => Spec::Current,
        _ => Spec::Rev(t.to_string()),
    }
}

/// Parses a history range.
pub fn parse_range(input: &str) -> Result<RangeSpec, SpecError> {
    let t = input.trim();
    let Some((a, b)) = t.split_once(':') else {
        return Err(SpecError::BadRange(shown(t)));
    };
    if b.contains(':') {
        return Err(SpecError::BadRange(shown(t)));
    }
    let side = |s: &str| -> Result<Option<Spec>, SpecError> {
        if s.trim().is_empty() {
            Ok(None)
        } else {
            parse(s).map(Some)
        }
    };
    Ok(RangeSpec {
        start: side(a)?,
        end: side(b)?,
    })
}

/// Resolves specs to revisions of a graph, against the database's current revisions
/// when it has them.
pub struct Resolver<'g> {
    graph: &'g Graph,
    current: Option<&'g [usize]>,
}

impl<'g> Resolver<'g> {
    /// A resolver for `graph`; `current`: the database's current revisions, `None` for a
    /// verb that reads no database.
    pub fn new(graph: &'g Graph, current: Option<&'g [usize]>) -> Self {
        Resolver { graph, current }
    }

    /// An input equal to a revision id always means that revision, before parsing.
    pub fn resolve_str(&self, input: &str) -> Result<Vec<usize>, SpecError> {
        self.resolve(&parse_with(self.graph, input)?)
    }

    /// The revisions `spec` names ([`Spec::Base`]: none).
    pub fn resolve(&self, spec: &Spec) -> Result<Vec<usize>, SpecError> {
        let g = self.graph;
        match spec {
            Spec::Head => {
                let heads = g.heads();
                if heads.len() > 1 {
                    return Err(SpecError::MultipleHeads {
                        heads: self.names(&heads),
                    });
                }
                Ok(heads)
            }
            Spec::Heads => Ok(g.heads()),
            Spec::Base => Ok(Vec::new()),
            Spec::Current => self
                .current
                .map(<[usize]>::to_vec)
                .ok_or_else(|| SpecError::NeedsDatabase("current".to_string())),
            Spec::Rev(text) => self.revision(text).map(|r| vec![r]),
            Spec::Relative(n) => self.walk(&Spec::Current, *n),
            Spec::Offset(anchor, n) => self.walk(anchor, *n),
        }
    }

    /// One revision id or prefix.
    pub fn revision(&self, text: &str) -> Result<usize, SpecError> {
        let g = self.graph;
        if let Some(r) = g.find(text) {
            return Ok(r);
        }
        if text.chars().count() < 4 {
            return Err(SpecError::TooShort(text.to_string()));
        }
        let mut candidates = g.with_prefix(text);
        if !text.starts_with('m') {
            for r in g.with_prefix(&format!("m{text}")) {
                if !candidates.contains(&r) {
                    candidates.push(r);
                }
            }
        }
        match candidates.as_slice() {
            [] => Err(SpecError::UnknownRevision(text.to_string())),
            [one] => Ok(*one),
            many => {
                let mut list = self.names(&many[..many.len().min(5)]).join(", ");
                if many.len() > 5 {
                    list.push_str(&format!(" and {} more", many.len() - 5));
                }
                Err(SpecError::Ambiguous {
                    input: text.to_string(),
                    count: many.len(),
                    list,
                })
            }
        }
    }

    fn names(&self, revs: &[usize]) -> Vec<String> {
        ids(self.graph, revs)
    }

    /// Steps `n` times from the single revision `anchor` names.
    fn walk(&self, anchor: &Spec, n: i64) -> Result<Vec<usize>, SpecError> {
        let input = display(anchor, n);
        let start = self.anchor(anchor, &input)?;
        let at = if n > 0 {
            self.walk_up(start, n as u64, input)?
        } else {
            self.walk_down(start, n.unsigned_abs(), input)?
        };
        Ok(at.into_iter().collect())
    }

    /// Where a walk `input` starts: the one revision `anchor` names (`None`: base).
    fn anchor(&self, anchor: &Spec, input: &str) -> Result<Option<usize>, SpecError> {
        let g = self.graph;
        let start = match anchor {
            Spec::Current => {
                let current = self.resolve(&Spec::Current)?;
                if current.len() > 1 {
                    return Err(SpecError::AmbiguousCurrent {
                        current: self.names(&current),
                    });
                }
                current
            }
            Spec::Heads => {
                let heads = g.heads();
                if heads.len() > 1 {
                    return Err(SpecError::MultipleHeads {
                        heads: self.names(&heads),
                    });
                }
                heads
            }
            other => {
                let set = self.resolve(other)?;
                if set.len() > 1 {
                    return Err(SpecError::SetAnchor(input.to_string()));
                }
                set
            }
        };
        Ok(start.first().copied())
    }

    /// `n` steps towards the heads from `at` (`None`: base), for the walk `input`.
    fn walk_up(
        &self,
        mut at: Option<usize>,
        n: u64,
        input: String,
    ) -> Result<Option<usize>, SpecError> {
        let g = self.graph;
        for step in 0..n {
            let options: Vec<usize> = match at {
                None => g.bases(),
                Some(r) => g.children(r).to_vec(),
            };
            match options.as_slice() {
                [] => {
                    let head = at.map_or("base".to_string(), |r| g.id(r).to_string());
                    return Err(SpecError::PastHead {
                        input,
                        head,
                        available: step,
                    });
                }
                [one] => at = Some(*one),
                many => {
                    return Err(SpecError::AmbiguousWalk {
                        input,
                        at: at.map_or("base".to_string(), |r| g.id(r).to_string()),
                        what: if at.is_some() {
                            "is a branch point"
                        } else {
                            "has several base revisions"
                        },
                        options: self.names(many),
                    });
                }
            }
        }
        Ok(at)
    }

    /// `n` steps towards base from `at` (`None`: base), for the walk `input`.
    fn walk_down(
        &self,
        mut at: Option<usize>,
        n: u64,
        input: String,
    ) -> Result<Option<usize>, SpecError> {
        let g = self.graph;
        for _ in 0..n {
            let Some(r) = at else {
                return Err(SpecError::BelowBase(input));
            };
            match g.parents(r) {
                [] => at = None,
                [one] => at = Some(*one),
                many => {
                    return Err(SpecError::AmbiguousWalk {
                        input,
                        at: g.id(r).to_string(),
                        what: "is a merge of",
                        options: self.names(many),
                    });
                }
            }
        }
        Ok(at)
    }

    /// A history range, newest first.
    pub fn range(&self, range: &RangeSpec) -> Result<Vec<usize>, SpecError> {
        let g = self.graph;
        let start = match &range.start {
            Some(s) => self.resolve(s)?,
            None => Vec::new(),
        };
        let end = match &range.end {
            Some(s) => self.resolve(s)?,
            None => g.heads(),
        };
        let below_end = g.ancestors(&end);
        if let Some(&bad) = start.iter().find(|&&s| !below_end[s]) {
            return Err(SpecError::NotAncestor {
                range: format!(
                    "{}:{}",
                    range.start.as_ref().map(spec_text).unwrap_or_default(),
                    range.end.as_ref().map(spec_text).unwrap_or_default()
                ),
                start: g.id(bad).to_string(),
                end: self.names(&end).join(", "),
            });
        }
        let above_start = if start.is_empty() {
            vec![true; g.len()]
        } else {
            g.descendants(&start)
        };
        Ok(g.topo_order()
            .iter()
            .rev()
            .copied()
            .filter(|&r| below_end[r] && above_start[r])
            .collect())
    }
}

fn spec_text(spec: &Spec) -> String {
    match spec {
        Spec::Head => "head".into(),
        Spec::Heads => "heads".into(),
        Spec::Base => "base".into(),
        Spec::Current => "current".into(),
        Spec::Rev(r) => r.clone(),
        Spec::Relative(n) => format!("{n:+}"),
        Spec::Offset(a, n) => display(a, *n),
    }
}

fn display(anchor: &Spec, n: i64) -> String {
    match anchor {
        Spec::Current => format!("{n:+}"),
        a => format!("{}{n:+}", spec_text(a)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::graph::Node;

    /// a -> b -> c, a -> d, (c, d) -> m, m -> e
    fn graph() -> Graph {
        Graph::build([
            Node::new("m20260101_000000_a", &[]),
            Node::new("m20260102_000000_b", &["m20260101_000000_a"]),
            Node::new("m20260103_000000_c", &["m20260102_000000_b"]),
            Node::new("m20260103_000001_d", &["m20260101_000000_a"]),
            Node::new(
                "m20260104_000000_m",
                &["m20260103_000000_c", "m20260103_000001_d"],
            ),
            Node::new("m20260105_000000_e", &["m20260104_000000_m"]),
        ])
        .unwrap()
    }

    fn resolve(g: &Graph, current: Option<&[usize]>, input: &str) -> Result<Vec<String>, String> {
        Resolver::new(g, current)
            .resolve_str(input)
            .map(|r| ids(g, &r))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn symbols() {
        let g = graph();
        let b = [g.find("m20260102_000000_b").unwrap()];
        assert_eq!(resolve(&g, None, "head").unwrap(), ["m20260105_000000_e"]);
        assert_eq!(resolve(&g, None, "heads").unwrap(), ["m20260105_000000_e"]);
        assert!(resolve(&g, None, "base").unwrap().is_empty());
        assert_eq!(
            resolve(&g, Some(&b), "current").unwrap(),
            ["m20260102_000000_b"]
        );
        assert_eq!(
            resolve(&g, None, "current").unwrap_err(),
            "`current` needs the database's state, which this verb does not read"
        );
    }

    #[test]
    fn ids_and_prefixes() {
        let g = graph();
        assert_eq!(
            resolve(&g, None, "m20260102_000000_b").unwrap(),
            ["m20260102_000000_b"]
        );
        assert_eq!(
            resolve(&g, None, "m20260102").unwrap(),
            ["m20260102_000000_b"]
        );
        assert_eq!(
            resolve(&g, None, "20260102").unwrap(),
            ["m20260102_000000_b"]
        );
        assert_eq!(
            resolve(&g, None, "2026").unwrap_err(),
            "`2026` matches 6 revisions: m20260101_000000_a, m20260102_000000_b, \
             m20260103_000000_c, m20260103_000001_d, m20260104_000000_m and 1 more; give more characters"
        );
        assert_eq!(
            resolve(&g, None, "m20").unwrap_err(),
            "`m20` is too short: give at least 4 characters of a revision id"
        );
        assert_eq!(
            resolve(&g, None, "m2099").unwrap_err(),
            "no revision matches `m2099`; `history` lists the revision ids"
        );
    }

    #[test]
    fn an_exact_legacy_id_with_a_dash_wins_over_the_grammar() {
        let g =
            Graph::build([Node::legacy("create-users"), Node::legacy("create-users-1")]).unwrap();
        assert_eq!(
            resolve(&g, None, "create-users-1").unwrap(),
            ["create-users-1"]
        );
        assert_eq!(
            resolve(&g, None, "create-users+1").unwrap(),
            ["create-users-1"]
        );
    }

    #[test]
    fn relative_steps() {
        let g = graph();
        let a = [g.find("m20260101_000000_a").unwrap()];
        let m = [g.find("m20260104_000000_m").unwrap()];
        assert_eq!(resolve(&g, None, "head-1").unwrap(), ["m20260104_000000_m"]);
        assert_eq!(
            resolve(&g, None, "m20260102+1").unwrap(),
            ["m20260103_000000_c"]
        );
        assert_eq!(resolve(&g, None, "base+1").unwrap(), ["m20260101_000000_a"]);
        assert!(resolve(&g, None, "m20260101-1").unwrap().is_empty());
        assert_eq!(resolve(&g, Some(&m), "+1").unwrap(), ["m20260105_000000_e"]);
        assert_eq!(
            resolve(&g, Some(&[]), "+1").unwrap(),
            ["m20260101_000000_a"]
        );
        assert_eq!(
            resolve(&g, Some(&a), "+1").unwrap_err(),
            "`+1` is ambiguous: `m20260101_000000_a` is a branch point \
             (m20260102_000000_b, m20260103_000001_d); name the revision you mean"
        );
        assert_eq!(
            resolve(&g, None, "head-2").unwrap_err(),
            "`head-2` is ambiguous: `m20260104_000000_m` is a merge of \
             (m20260103_000000_c, m20260103_000001_d); name the revision you mean"
        );
        assert_eq!(
            resolve(&g, None, "head+1").unwrap_err(),
            "`head+1` goes past the head `m20260105_000000_e` (only 0 revisions above)"
        );
        assert_eq!(
            resolve(&g, None, "m20260101-2").unwrap_err(),
            "`m20260101-2` goes below base"
        );
        let two = [a[0], m[0]];
        assert!(
            resolve(&g, Some(&two), "-1")
                .unwrap_err()
                .contains("the database is at 2 revisions")
        );
    }

    #[test]
    fn parse_errors() {
        for (input, why) in [
            ("", "it is empty"),
            ("+0", "a relative step must be at least 1"),
            ("++1", "it has two signs"),
            ("head-", "a relative step is a sign and a number"),
            ("-x", "a relative step is a sign and a number"),
            ("a b", "it contains white space"),
            ("-99999999999999999999", "the step count is too large"),
        ] {
            let err = parse(input).unwrap_err().to_string();
            assert!(err.contains(why), "{input:?}: {err}");
        }
        assert_eq!(
            parse("a:b").unwrap_err().to_string(),
            "`a:b` is a range; ranges are only accepted by `history -r START:END`"
        );
        assert_eq!(parse("-3").unwrap(), Spec::Relative(-3));
        assert_eq!(
            parse("head-2").unwrap(),
            Spec::Offset(Box::new(Spec::Head), -2)
        );
    }

    #[test]
    fn multiple_heads() {
        let g = Graph::build([
            Node::new("m20260101_000000_a", &[]),
            Node::new("m20260102_000000_b", &["m20260101_000000_a"]),
            Node::new("m20260102_000001_c", &["m20260101_000000_a"]),
        ])
        .unwrap();
        let msg = "there are 2 heads (m20260102_000000_b, m20260102_000001_c): run `cargo migrate merge` \
                   to join them, name one of them, or use `heads`";
        assert_eq!(resolve(&g, None, "head").unwrap_err(), msg);
        assert_eq!(resolve(&g, None, "heads-1").unwrap_err(), msg);
        assert_eq!(resolve(&g, None, "heads").unwrap().len(), 2);
    }

    #[test]
    fn ranges() {
        let g = graph();
        let r = Resolver::new(&g, None);
        let range = |s: &str| r.range(&parse_range(s).unwrap()).map(|v| ids(&g, &v));
        assert_eq!(
            range("m20260102:m20260104").unwrap(),
            [
                "m20260104_000000_m",
                "m20260103_000000_c",
                "m20260102_000000_b"
            ]
        );
        assert_eq!(range(":").unwrap().len(), 6);
        assert_eq!(
            range(":m20260102").unwrap(),
            ["m20260102_000000_b", "m20260101_000000_a"]
        );
        assert_eq!(
            range("m20260104:").unwrap(),
            ["m20260105_000000_e", "m20260104_000000_m"]
        );
        assert_eq!(
            range("head-1:head").unwrap(),
            ["m20260105_000000_e", "m20260104_000000_m"]
        );
        assert_eq!(
            range("m20260103_000001_d:m20260103_000000_c")
                .unwrap_err()
                .to_string(),
            "range `m20260103_000001_d:m20260103_000000_c`: `m20260103_000001_d` is not an \
             ancestor of `m20260103_000000_c`"
        );
        assert_eq!(
            parse_range("head").unwrap_err().to_string(),
            "`head` is not a history range: expected `START:END`, `START:` or `:END`"
        );
    }
}
