//! What the user is told about the three problems a database or a crate can have:
//! several heads, revisions the database has that the crate does not know, and a
//! migration that failed part-way outside a transaction (half-applied). Each text is
//! worded here once; where two places say the same fact differently (a refusal names
//! the flag that overrides it, a report does not), each wording is its own function.

/// `a, b, c`.
fn list(items: &[impl AsRef<str>]) -> String {
    items
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `head` (and a walk from `heads`) when the crate has several heads: what to do
/// instead. `heads` in topological order.
pub fn multiple_heads(heads: &[String]) -> String {
    format!(
        "there are {} heads ({}): run `cargo migrate merge` to join them, name one of them, or use `heads`",
        heads.len(),
        list(heads)
    )
}

/// `check`'s verdict when the crate has several heads.
pub fn multiple_heads_found(heads: &[String]) -> String {
    format!(
        "{} heads: {}; join them with `cargo migrate merge`",
        heads.len(),
        list(heads)
    )
}

/// `cargo migrate create` without `--head` when the crate has several heads.
#[cfg_attr(not(feature = "cli"), allow(dead_code))]
pub fn multiple_heads_to_revise(heads: &[String]) -> String {
    format!(
        "the migration crate has {} heads ({}): join them first with `cargo migrate merge`, \
         or branch from one deliberately with `--head <rev>`",
        heads.len(),
        list(heads)
    )
}

/// A writing verb's refusal when the database has applied revisions the crate does not
/// know: `verb` anyway with `flag` (`migrate`/`--allow-unknown`, `stamp`/`--purge`).
pub fn unknown_revisions_refused(names: &[&str], verb: &str, flag: &str) -> String {
    let one = names.len() == 1;
    format!(
        "the database has {} applied revision{} this migration crate does not know: {}; \
         check out the code that has {}, or {verb} anyway with `{flag}`",
        names.len(),
        if one { "" } else { "s" },
        list(names),
        if one { "it" } else { "them" },
    )
}

/// `status`'s warning and `check`'s verdict when the database has revisions the crate
/// does not know.
pub fn unknown_revisions(names: &[&str]) -> String {
    format!(
        "the database has revisions this migration crate does not know: {}",
        list(names)
    )
}

/// A writing verb's refusal when `id` failed part-way outside a transaction with the
/// message `error`.
pub fn half_applied_refused(id: &str, error: &str) -> String {
    format!(
        "`{id}` failed part-way outside a transaction ({error}), so the database may hold part of it; \
         fix the database, then record the truth with `stamp <revision>` \
         (or undo the partial changes and run again with `--retry-failed`)"
    )
}

/// `check`'s verdict when `id` failed part-way outside a transaction.
pub fn half_applied(id: &str) -> String {
    format!(
        "`{id}` failed part-way outside a transaction, so the database may hold part of it; \
         see `status`, fix the database, then `stamp` the truth (or retry with `--retry-failed`)"
    )
}

/// `status`: what a recorded failure left behind, `transactional` or not.
pub fn failure_left(transactional: bool) -> &'static str {
    if transactional {
        "rolled back"
    } else {
        "may be half-applied"
    }
}

/// Appended to the error of a failed step that nothing of remains.
pub const STEP_ROLLED_BACK: &str = " (rolled back: nothing of this migration was applied)";

/// Appended to the error of a failed upgrade step of `id` that may be half-applied;
/// `why`: why nothing could roll it back.
pub fn step_half_applied(id: &str, why: &str) -> String {
    format!(
        " ({why}, so part of it may have been applied; check the database, then either \
         finish it by hand and run `stamp {id}`, or undo it by hand and run \
         `upgrade --retry-failed`)"
    )
}

/// Appended to the error of a failed downgrade step that may be half-reverted; `why`:
/// why nothing could roll it back.
pub fn step_half_reverted(why: &str) -> String {
    format!(
        " ({why}, so part of it may have been reverted; check the database, then either \
         finish reverting it by hand and record the revision below it with `stamp`, or \
         restore what was reverted and run `downgrade --retry-failed`)"
    )
}

/// `downgrade --sql` without a start.
pub const DOWNGRADE_SCRIPT_START: &str = "`downgrade --sql` needs to know where the database \
     starts: give the range as `A:B` (e.g. `head:base`, `head:-1`), or read the start from \
     the database with `--from-db`";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_agree_with_the_lists() {
        assert_eq!(
            unknown_revisions_refused(&["m1"], "migrate", "--allow-unknown"),
            "the database has 1 applied revision this migration crate does not know: m1; \
             check out the code that has it, or migrate anyway with `--allow-unknown`"
        );
        assert_eq!(
            unknown_revisions_refused(&["m1", "m2"], "stamp", "--purge"),
            "the database has 2 applied revisions this migration crate does not know: m1, m2; \
             check out the code that has them, or stamp anyway with `--purge`"
        );
    }

    // The texts as the callers worded them before they moved here, byte for byte.
    #[test]
    fn texts_are_the_callers_own() {
        let heads = ["a".to_string(), "b".to_string()];
        assert_eq!(
            multiple_heads(&heads),
            "there are 2 heads (a, b): run `cargo migrate merge` to join them, name one of \
             them, or use `heads`"
        );
        assert_eq!(
            multiple_heads_found(&heads),
            "2 heads: a, b; join them with `cargo migrate merge`"
        );
        assert_eq!(
            multiple_heads_to_revise(&heads),
            "the migration crate has 2 heads (a, b): join them first with `cargo migrate \
             merge`, or branch from one deliberately with `--head <rev>`"
        );
        assert_eq!(
            unknown_revisions(&["x", "y"]),
            "the database has revisions this migration crate does not know: x, y"
        );
        assert_eq!(
            half_applied_refused("m1", "boom"),
            "`m1` failed part-way outside a transaction (boom), so the database may hold part \
             of it; fix the database, then record the truth with `stamp <revision>` (or undo \
             the partial changes and run again with `--retry-failed`)"
        );
        assert_eq!(
            half_applied("m1"),
            "`m1` failed part-way outside a transaction, so the database may hold part of it; \
             see `status`, fix the database, then `stamp` the truth (or retry with \
             `--retry-failed`)"
        );
        assert_eq!(failure_left(true), "rolled back");
        assert_eq!(failure_left(false), "may be half-applied");
    }
}
