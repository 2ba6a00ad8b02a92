//! Properties of the pure parts, over generated input: the revision-spec parser and
//! resolver (against brute-force oracles on generated graphs), the slug and id of a new
//! revision, and the lexer.

use std::collections::HashSet;

use cargo_migrate::__private::graph::{Graph, Node};
use cargo_migrate::__private::lexer::{self, Kind};
use cargo_migrate::__private::spec::{self, RangeSpec, Resolver, Spec, SpecError};
use cargo_migrate::subcommand::config::TimeZone;
use cargo_migrate::subcommand::naming::{self, SLUG_MAX};
use proptest::prelude::*;

/// proptest's defaults (256 cases), without writing failures next to this file.
fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------
// Strategies

/// Text that is mostly the spec grammar's own pieces, to reach its corners.
fn spec_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("head".to_string()),
        Just("heads".to_string()),
        Just("base".to_string()),
        Just("current".to_string()),
        Just("m2026".to_string()),
        Just("_".to_string()),
        Just("+".to_string()),
        Just("-".to_string()),
        Just(":".to_string()),
        Just(" ".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just("\t".to_string()),
        Just("\u{0}".to_string()),
        Just("é".to_string()),
        Just("99999999999999999999".to_string()),
        "[0-9]{1,3}",
        "[a-z]{1,3}",
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(piece, 0..8).prop_map(|v| v.concat())
}

/// Any string: the soup above, or arbitrary Unicode.
fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![spec_soup(), any::<String>()]
}

/// A revision id as a user could type it: not a keyword, no grammar characters.
fn rev_text() -> impl Strategy<Value = String> {
    "m?[a-z0-9_]{1,24}".prop_filter("not a keyword", |s| {
        !matches!(s.as_str(), "head" | "heads" | "base" | "current")
    })
}

/// A step count: never 0, never `i64::MIN` (whose magnitude does not fit an `i64`).
fn step() -> impl Strategy<Value = i64> {
    prop_oneof![1..=i64::MAX, -i64::MAX..=-1, 1..=5i64, -5..=-1i64]
}

fn symbol() -> impl Strategy<Value = Spec> {
    prop_oneof![
        Just(Spec::Head),
        Just(Spec::Heads),
        Just(Spec::Base),
        Just(Spec::Current),
        rev_text().prop_map(Spec::Rev),
    ]
}

/// Every spec `parse` can return.
fn any_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        symbol(),
        step().prop_map(Spec::Relative),
        (symbol(), step()).prop_map(|(a, n)| Spec::Offset(Box::new(a), n)),
    ]
}

/// How a user writes `spec`.
fn text_of(spec: &Spec) -> String {
    match spec {
        Spec::Head => "head".to_string(),
        Spec::Heads => "heads".to_string(),
        Spec::Base => "base".to_string(),
        Spec::Current => "current".to_string(),
        Spec::Rev(r) => r.clone(),
        Spec::Relative(n) => format!("{n:+}"),
        Spec::Offset(anchor, n) => format!("{}{n:+}", text_of(anchor)),
    }
}

/// A graph in registration order: revision `i` revises up to two earlier ones. Ids share
/// prefixes (a timestamp from a small set; `_r1` is a prefix of `_r10`) and some end in
/// `-<digits>`, like legacy ids that look like a relative step.
fn graph() -> impl Strategy<Value = Graph> {
    (1usize..24)
        .prop_flat_map(|n| {
            let node = |i: usize| {
                (
                    1u8..=3,
                    0u8..=2,
                    prop_oneof![Just("r"), Just("add_"), Just("x-")],
                    prop::collection::vec(0..i.max(1), if i == 0 { 0..1 } else { 0..3 }),
                )
            };
            (0..n).map(node).collect::<Vec<_>>()
        })
        .prop_map(|specs| {
            let ids: Vec<String> = specs
                .iter()
                .enumerate()
                .map(|(i, (day, sec, word, _))| format!("m2026010{day}_00000{sec}_{word}{i}"))
                .collect();
            let nodes = specs.iter().enumerate().map(|(i, (_, _, _, parents))| {
                let ps: Vec<&str> = parents
                    .iter()
                    .filter(|&&p| p < i)
                    .map(|&p| ids[p].as_str())
                    .collect();
                Node::new(ids[i].clone(), &ps)
            });
            Graph::build(nodes).expect("a DAG over unique, valid ids")
        })
}

// ---------------------------------------------------------------------------------------
// Oracles

/// Revisions from which `r` is reachable by parent edges, `r` included.
fn ancestors_of(g: &Graph, r: usize) -> Vec<bool> {
    let mut seen = vec![false; g.len()];
    let mut stack = vec![r];
    while let Some(x) = stack.pop() {
        if !std::mem::replace(&mut seen[x], true) {
            stack.extend_from_slice(g.parents(x));
        }
    }
    seen
}

/// Revisions reachable from `r` by child edges, `r` included.
fn descendants_of(g: &Graph, r: usize) -> Vec<bool> {
    let mut seen = vec![false; g.len()];
    let mut stack = vec![r];
    while let Some(x) = stack.pop() {
        if !std::mem::replace(&mut seen[x], true) {
            stack.extend_from_slice(g.children(x));
        }
    }
    seen
}

#[derive(Debug, PartialEq, Eq)]
enum Found {
    One(usize),
    TooShort,
    Unknown,
    Ambiguous(usize),
}

/// A revision id or prefix, by a linear scan of every id.
fn find_by_scan(g: &Graph, text: &str) -> Found {
    let ids: Vec<&str> = (0..g.len()).map(|r| g.id(r)).collect();
    if let Some(r) = ids.iter().position(|&id| id == text) {
        return Found::One(r);
    }
    if text.chars().count() < 4 {
        return Found::TooShort;
    }
    let with_m = format!("m{text}");
    let matches: Vec<usize> = (0..ids.len())
        .filter(|&r| {
            ids[r].starts_with(text) || !text.starts_with('m') && ids[r].starts_with(&with_m)
        })
        .collect();
    match matches.as_slice() {
        [] => Found::Unknown,
        [one] => Found::One(*one),
        many => Found::Ambiguous(many.len()),
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Walked {
    At(Option<usize>),
    PastHead,
    BelowBase,
    Ambiguous,
}

/// `n` steps from `start` (`None`: base), one edge at a time.
fn walk_by_hand(g: &Graph, start: Option<usize>, n: i64) -> Walked {
    let mut at = start;
    for _ in 0..n.unsigned_abs() {
        let options: Vec<usize> = match (n > 0, at) {
            (true, None) => (0..g.len()).filter(|&r| g.parents(r).is_empty()).collect(),
            (true, Some(r)) => g.children(r).to_vec(),
            (false, None) => return Walked::BelowBase,
            (false, Some(r)) => g.parents(r).to_vec(),
        };
        at = match (options.as_slice(), n > 0) {
            ([], true) => return Walked::PastHead,
            ([], false) => None,
            ([one], _) => Some(*one),
            _ => return Walked::Ambiguous,
        };
    }
    Walked::At(at)
}

fn walked(result: Result<Vec<usize>, SpecError>) -> Walked {
    match result {
        Ok(v) => {
            assert!(v.len() <= 1, "a walk ends at one revision or base: {v:?}");
            Walked::At(v.first().copied())
        }
        Err(SpecError::PastHead { .. }) => Walked::PastHead,
        Err(SpecError::BelowBase(_)) => Walked::BelowBase,
        Err(SpecError::AmbiguousWalk { .. }) => Walked::Ambiguous,
        Err(e) => panic!("unexpected error for a walk: {e}"),
    }
}

fn assert_one_line(e: &SpecError, input: &str) {
    let text = e.to_string();
    assert!(
        !text.contains(['\n', '\r']),
        "the error for {input:?} spans several lines: {text:?}"
    );
    assert!(!text.is_empty(), "an empty error for {input:?}");
}

// ---------------------------------------------------------------------------------------
// The spec parser

proptest! {
    #![proptest_config(config())]

    #[test]
    fn parse_never_panics_and_its_errors_are_one_line(input in any_text()) {
        if let Err(e) = spec::parse(&input) {
            assert_one_line(&e, &input);
        }
        if let Err(e) = spec::parse_range(&input) {
            assert_one_line(&e, &input);
        }
    }

    #[test]
    fn every_spec_parses_back_from_its_text(spec in any_spec()) {
        let text = text_of(&spec);
        prop_assert_eq!(spec::parse(&text), Ok(spec.clone()), "{}", text);
        // Surrounding white space does not matter.
        prop_assert_eq!(spec::parse(&format!(" \t{text} ")), Ok(spec));
    }

    #[test]
    fn relative_steps_round_trip(n in step()) {
        prop_assert_eq!(spec::parse(&format!("{n:+}")), Ok(Spec::Relative(n)));
        prop_assert_eq!(
            spec::parse(&format!("head{n:+}")),
            Ok(Spec::Offset(Box::new(Spec::Head), n))
        );
    }

    #[test]
    fn every_range_parses_back_from_its_text(
        start in prop::option::of(any_spec()),
        end in prop::option::of(any_spec()),
    ) {
        let text = format!(
            "{}:{}",
            start.as_ref().map(text_of).unwrap_or_default(),
            end.as_ref().map(text_of).unwrap_or_default()
        );
        prop_assert_eq!(spec::parse_range(&text), Ok(RangeSpec { start, end }), "{}", text);
    }

    #[test]
    fn a_colon_is_always_a_range(a in "[a-z0-9+-]{0,6}", b in "[a-z0-9+-]{0,6}") {
        let text = format!("{a}:{b}");
        prop_assert!(matches!(spec::parse(&text), Err(SpecError::RangeNotAllowed(_))));
    }
}

// ---------------------------------------------------------------------------------------
// Resolution against generated graphs

proptest! {
    #![proptest_config(config())]

    #[test]
    fn every_id_resolves_to_itself(g in graph()) {
        let resolver = Resolver::new(&g, None);
        for r in 0..g.len() {
            let id = g.id(r);
            prop_assert_eq!(resolver.resolve_str(id), Ok(vec![r]), "{}", id);
            prop_assert_eq!(resolver.revision(id), Ok(r));
            prop_assert_eq!(resolver.resolve(&Spec::Rev(id.to_string())), Ok(vec![r]));
        }
    }

    #[test]
    fn prefixes_resolve_as_a_scan_of_every_id_says(
        g in graph(),
        pick in any::<prop::sample::Index>(),
        cut in 1usize..30,
        drop_m in any::<bool>(),
    ) {
        let id = g.id(pick.index(g.len()));
        let prefix = &id[..cut.min(id.len())];
        let text = if drop_m { prefix.strip_prefix('m').unwrap_or(prefix) } else { prefix };
        let got = match Resolver::new(&g, None).revision(text) {
            Ok(r) => Found::One(r),
            Err(SpecError::TooShort(_)) => Found::TooShort,
            Err(SpecError::UnknownRevision(_)) => Found::Unknown,
            Err(SpecError::Ambiguous { count, .. }) => Found::Ambiguous(count),
            Err(e) => panic!("unexpected error for {text:?}: {e}"),
        };
        prop_assert_eq!(got, find_by_scan(&g, text), "{:?}", text);
    }

    #[test]
    fn steps_walk_one_edge_at_a_time(
        g in graph(),
        pick in any::<prop::sample::Index>(),
        n in prop_oneof![1..6i64, -6..0i64],
    ) {
        let r = pick.index(g.len());
        let resolver = Resolver::new(&g, None);
        let anchor = Spec::Rev(g.id(r).to_string());
        prop_assert_eq!(
            walked(resolver.resolve(&Spec::Offset(Box::new(anchor), n))),
            walk_by_hand(&g, Some(r), n)
        );
        // The same from the database's current revision, and from base.
        let current = [r];
        prop_assert_eq!(
            walked(Resolver::new(&g, Some(&current)).resolve(&Spec::Relative(n))),
            walk_by_hand(&g, Some(r), n)
        );
        prop_assert_eq!(
            walked(Resolver::new(&g, Some(&[][..])).resolve(&Spec::Relative(n))),
            walk_by_hand(&g, None, n)
        );
        // Text and spec agree, through the grammar.
        let text = format!("{}{n:+}", g.id(r));
        if g.find(&text).is_none() {
            prop_assert_eq!(
                walked(resolver.resolve_str(&text)),
                walk_by_hand(&g, Some(r), n),
                "{}", text
            );
        }
    }

    #[test]
    fn ranges_are_the_revisions_between_their_ends_children_first(
        g in graph(),
        a in any::<prop::sample::Index>(),
        b in any::<prop::sample::Index>(),
    ) {
        let (a, b) = (a.index(g.len()), b.index(g.len()));
        let resolver = Resolver::new(&g, None);
        let range = RangeSpec {
            start: Some(Spec::Rev(g.id(a).to_string())),
            end: Some(Spec::Rev(g.id(b).to_string())),
        };
        let below_b = ancestors_of(&g, b);
        match resolver.range(&range) {
            Ok(list) => {
                prop_assert!(below_b[a], "{} is not below {}", g.id(a), g.id(b));
                let above_a = descendants_of(&g, a);
                let want: HashSet<usize> =
                    (0..g.len()).filter(|&r| above_a[r] && below_b[r]).collect();
                prop_assert_eq!(list.iter().copied().collect::<HashSet<_>>(), want);
                prop_assert_eq!(list.len(), list.iter().collect::<HashSet<_>>().len());
                assert_children_first(&g, &list);
            }
            Err(SpecError::NotAncestor { .. }) => prop_assert!(!below_b[a]),
            Err(e) => panic!("unexpected error: {e}"),
        }
        // Open ends: everything below `b`; everything above `a`; everything.
        let open_start = resolver.range(&RangeSpec { start: None, end: range.end.clone() }).unwrap();
        prop_assert_eq!(open_start.len(), below_b.iter().filter(|&&x| x).count());
        assert_children_first(&g, &open_start);
        let above_a = descendants_of(&g, a);
        let open_end = resolver.range(&RangeSpec { start: range.start.clone(), end: None }).unwrap();
        prop_assert_eq!(open_end.len(), above_a.iter().filter(|&&x| x).count());
        let all = resolver.range(&RangeSpec { start: None, end: None }).unwrap();
        prop_assert_eq!(all.len(), g.len());
        assert_children_first(&g, &all);
    }

    #[test]
    fn resolving_anything_never_panics_and_errors_are_one_line(
        g in graph(),
        input in any_text(),
        at in prop::option::of(any::<prop::sample::Index>()),
    ) {
        let current: Vec<usize> = at.map(|i| vec![i.index(g.len())]).unwrap_or_default();
        let resolver = Resolver::new(&g, Some(&current));
        match resolver.resolve_str(&input) {
            Ok(revs) => prop_assert!(revs.iter().all(|&r| r < g.len())),
            Err(e) => assert_one_line(&e, &input),
        }
        if let Ok(range) = spec::parse_range(&input) {
            match resolver.range(&range) {
                Ok(revs) => prop_assert!(revs.iter().all(|&r| r < g.len())),
                Err(e) => assert_one_line(&e, &input),
            }
        }
    }
}

/// Newest first: every revision is listed before its parents.
fn assert_children_first(g: &Graph, list: &[usize]) {
    let pos: std::collections::HashMap<usize, usize> =
        list.iter().enumerate().map(|(i, &r)| (r, i)).collect();
    for &r in list {
        for p in g.parents(r) {
            if let Some(&pp) = pos.get(p) {
                assert!(
                    pos[&r] < pp,
                    "{} is listed after its parent {}",
                    g.id(r),
                    g.id(*p)
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Slugs and ids

/// The message's ASCII words (after transliteration), lowercase.
fn words(message: &str) -> Vec<String> {
    naming::transliterate(message)
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

fn message() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[A-Za-z0-9]{1,12}",
        "[ _./\\\\-]{1,3}",
        Just("..".to_string()),
        Just("/".to_string()),
        Just("é".to_string()),
        Just("添加".to_string()),
        Just("x".repeat(45)),
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..12).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn slugs_are_safe_file_names(message in message()) {
        let slug = naming::slug(&message);
        let has_word = !words(&message).is_empty();
        prop_assert_eq!(slug.is_some(), has_word, "{:?} -> {:?}", message, slug);
        let Some(slug) = slug else { return Ok(()) };
        prop_assert!(
            slug.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "{:?}", slug
        );
        prop_assert!(!slug.is_empty() && slug.len() <= SLUG_MAX, "{:?}", slug);
        prop_assert!(!slug.starts_with('_') && !slug.ends_with('_') && !slug.contains("__"), "{:?}", slug);
        prop_assert!(!slug.contains("..") && !slug.contains('/'));
        // Idempotent.
        prop_assert_eq!(naming::slug(&slug), Some(slug.clone()));
    }

    #[test]
    fn slugs_are_the_longest_run_of_leading_words_that_fits(message in message()) {
        let words = words(&message);
        let want = match words.first() {
            None => None,
            Some(first) if first.len() > SLUG_MAX => Some(first[..SLUG_MAX].to_string()),
            Some(_) => {
                let mut take = 0;
                while take < words.len() && words[..=take].join("_").len() <= SLUG_MAX {
                    take += 1;
                }
                Some(words[..take].join("_"))
            }
        };
        prop_assert_eq!(naming::slug(&message), want);
    }

    #[test]
    fn a_new_id_sorts_after_every_existing_one(
        message in "[a-z]{1,8}( [a-z]{1,8}){0,3}",
        existing in prop::collection::vec(existing_id(), 0..12),
    ) {
        let id = naming::new_id(&message, TimeZone::Utc, existing.iter().map(String::as_str))
            .expect("a message with words");
        let at = naming::timestamp_of(&id);
        prop_assert!(at.is_some(), "{} has no timestamp", id);
        let slug = naming::slug(&message).expect("a slug");
        prop_assert!(id.ends_with(&format!("_{slug}")), "{}", id);
        for old in &existing {
            if let Some(then) = naming::timestamp_of(old) {
                prop_assert!(at > Some(then), "{} is not after {}", id, old);
                prop_assert!(id.as_str() > old.as_str(), "{} sorts before {}", id, old);
            }
        }
    }
}

/// Existing ids: timestamped ones from the past and the future (same second, next
/// second, next year), sea-orm-cli's, and names without a timestamp.
fn existing_id() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            1970u32..=2200,
            1u32..=12,
            1u32..=28,
            0u32..24,
            0u32..60,
            0u32..60,
            "[a-z_]{0,10}"
        )
            .prop_map(|(y, mo, d, h, mi, s, slug)| format!(
                "m{y:04}{mo:02}{d:02}_{h:02}{mi:02}{s:02}_{slug}"
            )),
        Just(chrono_now_id()),
        Just("m20220101_000001_create_table".to_string()),
        Just("seed_data".to_string()),
        Just("m2026_not_a_time".to_string()),
        Just("m20261399_000000_bad_month".to_string()),
    ]
}

/// An id at this very second, so the new one must move past it.
fn chrono_now_id() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default();
    // `YYYY-MM-DD HH:MM:SS UTC` → `mYYYYMMDD_HHMMSS_now`
    let text: String = cargo_migrate::__private::timestamp(secs as i64)
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    format!("m{}_{}_now", &text[..8], &text[8..14])
}

/// The last second a four-digit year can name: no id sorts after it, so `create` says
/// so instead of writing one that would sort first.
#[test]
fn no_new_id_after_the_last_four_digit_second() {
    let last = "m99991231_235959_end";
    let err = naming::new_id("next", TimeZone::Utc, [last])
        .unwrap_err()
        .to_string();
    assert!(err.contains("9999"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The lexer

/// Rust-ish text with the lexer's tricky pieces: raw strings, escapes, nested comments,
/// lifetimes and char literals, non-ASCII.
fn rust_soup() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just("r#\"".to_string()),
        Just("\"#".to_string()),
        Just("r\"".to_string()),
        Just("\"".to_string()),
        Just("'".to_string()),
        Just("\\".to_string()),
        Just("/*".to_string()),
        Just("*/".to_string()),
        Just("//".to_string()),
        Just("\n".to_string()),
        Just("#".to_string()),
        Just("é".to_string()),
        Just("€".to_string()),
        Just("'\\u{1F600}'".to_string()),
        "[a-z0-9_ .{}()\\[\\];:,]{0,4}",
        any::<char>().prop_map(String::from),
    ];
    prop_oneof![
        prop::collection::vec(piece, 0..24).prop_map(|v| v.concat()),
        any::<String>(),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_lexer_never_panics_and_its_spans_are_sound(src in rust_soup()) {
        let tokens = lexer::tokens(&src);
        let mut last_end = 0;
        for t in &tokens {
            prop_assert!(t.start >= last_end && t.start < t.end && t.end <= src.len(), "{:?} in {:?}", t, src);
            prop_assert!(src.is_char_boundary(t.start) && src.is_char_boundary(t.end), "{:?} in {:?}", t, src);
            let text = &src[t.start..t.end];
            match &t.kind {
                Kind::Ident(name) => prop_assert_eq!(name.as_str(), text),
                Kind::Punct(c) => prop_assert_eq!(text, c.to_string()),
                Kind::Str(_) | Kind::Other => {}
            }
            last_end = t.end;
        }
        for open in 0..tokens.len() {
            if let Some(close) = lexer::matching(&tokens, open) {
                prop_assert!(close >= open && close < tokens.len());
            }
        }
    }
}
