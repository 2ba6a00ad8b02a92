//! Small pure helpers for text every layer shows: one-line messages, UTC timestamps,
//! the words of a revision id, and the one hash that must never change (FNV-1a).

/// `text` with control characters escaped (`\n`, `\u{1b}`), so it prints as one line.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// `YYYY-MM-DD HH:MM:SS UTC` from Unix seconds.
pub fn timestamp(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The human message of a revision: its slug, as words.
pub fn slug_words(id: &str) -> String {
    let b = id.as_bytes();
    let timestamped = b.len() > 17
        && b[0] == b'm'
        && b[1..9].iter().all(u8::is_ascii_digit)
        && b[9] == b'_'
        && b[10..16].iter().all(u8::is_ascii_digit)
        && b[16] == b'_';
    let slug = if timestamped { &id[17..] } else { id };
    slug.replace('_', " ")
}

/// 64-bit FNV-1a, fed in pieces: stable across Rust versions and platforms, unlike
/// std's hasher, so its values can be stored (checksums) and shared between processes
/// (lock keys, cache file names). `Fnv1a::default()` starts from the offset basis.
#[derive(Debug, Clone, Copy)]
pub struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv1a {
    /// Feeds `bytes`.
    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }

    /// The hash of everything fed so far.
    pub fn finish(self) -> u64 {
        self.0
    }
}

/// The 64-bit FNV-1a hash of `bytes` (see [`Fnv1a`]).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = Fnv1a::default();
    h.write(bytes);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc() {
        assert_eq!(timestamp(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(timestamp(1_795_353_815), "2026-11-22 13:23:35 UTC");
        assert_eq!(timestamp(951_782_400), "2000-02-29 00:00:00 UTC");
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // Test vectors of the FNV reference (draft-eastlake-fnv).
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        let mut pieces = Fnv1a::default();
        pieces.write(b"foo");
        pieces.write(b"bar");
        assert_eq!(pieces.finish(), fnv1a(b"foobar"));
    }

    #[test]
    fn errors_are_one_line() {
        assert_eq!(
            one_line("`head\nx` is not a revision"),
            "`head\\nx` is not a revision"
        );
        assert_eq!(one_line("plain: ünïcode"), "plain: ünïcode");
    }

    #[test]
    fn messages_come_from_slugs() {
        assert_eq!(
            slug_words("m20261122_101500_add_users_table"),
            "add users table"
        );
        assert_eq!(slug_words("m20220101_000001_create_table"), "create table");
        assert_eq!(slug_words("seed_data"), "seed data");
    }
}
