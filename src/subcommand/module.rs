//! What one migration module says of itself (`REVISES`, its name), read from its text
//! without compiling it.

use crate::model::lexer::{self, Kind};

/// What a migration file says of itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ModuleFacts {
    /// `pub const REVISES: &[&str] = &["a", "b"];`
    pub(crate) revises: Option<Vec<String>>,
    /// The literal `fn name(&self) -> &str { "..." }` returns.
    pub(crate) name: Option<String>,
}

/// What `text` declares. (The index keeps its answers: bump `index::FORMAT` when what
/// this returns for a text changes.)
pub(crate) fn parse_module(text: &str) -> ModuleFacts {
    // Only the two declarations matter: lex just their stretch of the file when no
    // block comment comes before them (a thousand files are read on every `create`).
    if !text.contains("/*") {
        let window = |from: Option<usize>, to: char| {
            from.map(|at| {
                let end = text[at..].find(to).map_or(text.len(), |i| at + i + 1);
                &text[at..end]
            })
        };
        let revises = window(find_code(text, "const REVISES"), ';');
        let name = window(find_code(text, "fn name("), '}');
        return ModuleFacts {
            revises: revises.and_then(|w| scan_module(w).revises),
            name: name.and_then(|w| scan_module(w).name),
        };
    }
    scan_module(text)
}

/// `needle` where it is code, not inside a `//` comment.
fn find_code(text: &str, needle: &str) -> Option<usize> {
    let mut from = 0;
    while let Some(i) = text[from..].find(needle) {
        let at = from + i;
        let line_start = text[..at].rfind('\n').map_or(0, |n| n + 1);
        if !text[line_start..at].contains("//") {
            return Some(at);
        }
        from = at + needle.len();
    }
    None
}

fn scan_module(text: &str) -> ModuleFacts {
    let t = lexer::tokens(text);
    let mut facts = ModuleFacts::default();
    if let Some(k) =
        (0..t.len()).find(|&k| t[k].is_ident("REVISES") && k > 0 && t[k - 1].is_ident("const"))
        && let Some(eq) = (k..t.len()).find(|&j| t[j].is_punct('='))
    {
        let mut parents = Vec::new();
        for tok in &t[eq + 1..] {
            match &tok.kind {
                Kind::Str(s) => parents.push(s.clone()),
                Kind::Punct(';') => break,
                _ => {}
            }
        }
        facts.revises = Some(parents);
    }
    if let Some(k) = (0..t.len())
        .find(|&k| t[k].is_ident("fn") && t.get(k + 1).is_some_and(|x| x.is_ident("name")))
    {
        // The first literal of the body.
        if let Some(open) = (k..t.len()).find(|&j| t[j].is_punct('{')) {
            let close = lexer::matching(&t, open).unwrap_or(t.len());
            facts.name = t[open..close].iter().find_map(|x| match &x.kind {
                Kind::Str(s) => Some(s.clone()),
                _ => None,
            });
        }
    }
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_module_names_its_parents_and_itself() {
        let m = "pub const REVISES: &[&str] = &[\"m1_a\", \"m1_b\"];\nimpl MigrationName for Migration {\n    fn name(&self) -> &str {\n        \"m2_merge\"\n    }\n}\n";
        assert_eq!(
            parse_module(m),
            ModuleFacts {
                revises: Some(vec!["m1_a".into(), "m1_b".into()]),
                name: Some("m2_merge".into())
            }
        );
        assert_eq!(
            parse_module("pub const REVISES: &[&str] = &[];").revises,
            Some(vec![])
        );
        assert_eq!(
            parse_module("#[derive(DeriveMigrationName)] pub struct Migration;"),
            ModuleFacts::default()
        );
    }
}
