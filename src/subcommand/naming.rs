//! Revision ids: `m<YYYYMMDD>_<HHMMSS>_<slug>`, the module names sea-orm-migration
//! records. The slug is the message's ASCII words, lowercase, joined by `_` and cut on
//! a word boundary; a new id always sorts after every existing one, even when two are
//! created in the same second or the clock is behind the last one.

use chrono::{Local, NaiveDateTime, Utc};

use super::config::TimeZone;
use super::error::{Result, ToolError};

/// Slugs are cut to at most this many characters, on a word boundary.
pub const SLUG_MAX: usize = 40;
const FORMAT: &str = "%Y%m%d_%H%M%S";

/// The file-name part of a message: `"Add users table!"` → `add_users_table`. Letters
/// outside ASCII are transliterated (`añadir` → `anadir`, `表` → `biao`), so words stay
/// whole.
pub fn slug(message: &str) -> Option<String> {
    let ascii = transliterate(message);
    let mut out = String::new();
    for word in ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let word = word.to_ascii_lowercase();
        let needed = if out.is_empty() {
            word.len()
        } else {
            word.len() + 1
        };
        if out.len() + needed > SLUG_MAX {
            if out.is_empty() {
                out.push_str(&word[..SLUG_MAX]);
            }
            break;
        }
        if !out.is_empty() {
            out.push('_');
        }
        out.push_str(&word);
    }
    (!out.is_empty()).then_some(out)
}

/// The message in ASCII: each character outside it by its usual transliteration,
/// or a space when there is none.
pub fn transliterate(message: &str) -> String {
    deunicode::deunicode_with_tofu(message, " ")
}

/// A message as one line of a doc comment: control characters and line breaks become
/// spaces, runs of spaces one.
pub(crate) fn one_line(message: &str) -> String {
    message
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The timestamp of an id made by this tool or sea-orm-cli.
pub fn timestamp_of(id: &str) -> Option<NaiveDateTime> {
    let b = id.as_bytes();
    if b.len() < 16 || b[0] != b'm' || b[9] != b'_' {
        return None;
    }
    NaiveDateTime::parse_from_str(id.get(1..16)?, FORMAT).ok()
}

/// The id of a new revision for `message`, later than every id in `existing`.
pub fn new_id<'a>(
    message: &str,
    tz: TimeZone,
    existing: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    let slug = slug(message).ok_or_else(|| {
        ToolError::usage(format!(
            "cannot name a migration after {:?}: the message needs at least one letter or digit \
             (it names the file, e.g. `cargo migrate create \"add users table\"`)",
            one_line(message)
        ))
    })?;
    let now = match tz {
        TimeZone::Utc => Utc::now().naive_utc(),
        TimeZone::Local => Local::now().naive_local(),
    };
    id_at(&slug, now, existing)
}

fn id_at<'a>(
    slug: &str,
    now: NaiveDateTime,
    existing: impl IntoIterator<Item = &'a str>,
) -> Result<String> {
    let now = now.with_nanosecond_zero();
    // The digits of a timestamp sort as the time they stand for: parse only from the
    // latest down, until one is a real date (a thousand parses cost more than the rest
    // of `create`).
    let mut stamps: Vec<&str> = existing
        .into_iter()
        .filter_map(|id| {
            let b = id.as_bytes();
            let shaped = b.len() >= 16
                && b[0] == b'm'
                && b[9] == b'_'
                && b[1..9].iter().chain(&b[10..16]).all(u8::is_ascii_digit);
            shaped.then(|| &id[1..16])
        })
        .collect();
    stamps.sort_unstable_by(|a, b| b.cmp(a));
    let latest = stamps
        .iter()
        .find_map(|s| NaiveDateTime::parse_from_str(s, FORMAT).ok());
    let at = match latest {
        Some(latest) if latest >= now => latest + chrono::Duration::seconds(1),
        _ => now,
    };
    if chrono::Datelike::year(&at) > 9999 {
        return Err(ToolError::usage(
            "no revision id is left: the newest revision is timestamped at the end of year 9999; \
             give it an earlier timestamp",
        ));
    }
    Ok(format!("m{}_{slug}", at.format(FORMAT)))
}

trait NoNanos {
    fn with_nanosecond_zero(self) -> Self;
}

impl NoNanos for NaiveDateTime {
    fn with_nanosecond_zero(self) -> Self {
        use chrono::Timelike;
        self.with_nanosecond(0).unwrap_or(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, FORMAT).unwrap()
    }

    #[test]
    fn slugs_are_lowercase_ascii_words() {
        assert_eq!(slug("Add users table").as_deref(), Some("add_users_table"));
        assert_eq!(
            slug("  add   users!!  (v2) ").as_deref(),
            Some("add_users_v2")
        );
        assert_eq!(slug("café crème").as_deref(), Some("cafe_creme"));
        assert_eq!(slug("añadir tabla").as_deref(), Some("anadir_tabla"));
        assert_eq!(slug("Größe ändern").as_deref(), Some("grosse_andern"));
        assert_eq!(slug("../../etc/passwd").as_deref(), Some("etc_passwd"));
        assert_eq!(slug("a/b\\c"), Some("a_b_c".into()));
        assert_eq!(slug(""), None);
        assert_eq!(slug("?!…---"), None);
        assert_eq!(slug("添加用户表").as_deref(), Some("tian_jia_yong_hu_biao"));
        assert_eq!(slug("🚀 launch"), Some("rocket_launch".into()));
        assert_eq!(slug("\u{10FFFF}\u{E000}"), None);
    }

    #[test]
    fn long_messages_are_cut_on_a_word_boundary() {
        let s = slug("add the table that holds every user of the application with their settings")
            .unwrap();
        assert!(s.len() <= SLUG_MAX, "{s}");
        assert_eq!(s, "add_the_table_that_holds_every_user_of");
        let one_word = slug(&"x".repeat(300)).unwrap();
        assert_eq!(one_word.len(), SLUG_MAX);
    }

    #[test]
    fn ids_are_distinct_and_ordered_within_one_second() {
        let now = at("20261123_101500");
        let id = |slug, now, existing: &[&str]| id_at(slug, now, existing.iter().copied()).unwrap();
        let first = id("a", now, &[]);
        assert_eq!(first, "m20261123_101500_a");
        let second = id("b", now, &[&first]);
        assert_eq!(second, "m20261123_101501_b");
        let third = id("c", now, &[&first, &second]);
        assert_eq!(third, "m20261123_101502_c");
        assert!(first < second && second < third);
        // A clock behind the newest revision still moves forward.
        assert_eq!(
            id("d", at("20200101_000000"), &[&third]),
            "m20261123_101503_d"
        );
        // Ids without a timestamp do not count, nor digits that are no date.
        assert_eq!(id("e", now, &["seed_data"]), "m20261123_101500_e");
        assert_eq!(
            id("g", now, &["m20261399_999999_bad", &third, "m2026_x"]),
            "m20261123_101503_g"
        );
        // After the last second a four-digit year can name, there is none.
        assert!(id_at("f", now, ["m99991231_235959_end"]).is_err());
    }

    #[test]
    fn messages_become_one_comment_line() {
        assert_eq!(
            one_line("add\nusers\r\n\ttable */ x"),
            "add users table */ x"
        );
    }
}
