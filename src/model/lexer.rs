//! Just enough of Rust's lexical grammar to read and edit a migration crate's `lib.rs`
//! and migration files without regexes (the subcommand), and to checksum a migration's
//! source regardless of its formatting and comments (the runtime): identifiers, string
//! literals and punctuation with their byte spans; comments and whitespace skipped.

/// What a token is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// An identifier or keyword.
    Ident(String),
    /// A string literal's value (escapes `\"` and `\\` resolved).
    Str(String),
    /// One punctuation character.
    Punct(char),
    /// Numbers, chars, lifetimes: present, never looked into.
    Other,
}

/// One token with its byte span in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    /// What it is.
    pub kind: Kind,
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset just past its last character.
    pub end: usize,
}

impl Token {
    /// Whether it is the identifier `name`.
    pub fn is_ident(&self, name: &str) -> bool {
        matches!(&self.kind, Kind::Ident(i) if i == name)
    }

    /// Whether it is the punctuation `c`.
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct(c)
    }

    /// The identifier, if it is one.
    pub fn ident(&self) -> Option<&str> {
        match &self.kind {
            Kind::Ident(i) => Some(i),
            _ => None,
        }
    }
}

/// The tokens of `src`, comments and whitespace skipped. Never fails: malformed input
/// (an unclosed string or comment) ends at the end of `src`.
pub fn tokens(src: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < src.len() {
        let (kind, next) = token_at(src, i);
        if let Some(kind) = kind {
            out.push(Token {
                kind,
                start: i,
                end: next.min(src.len()),
            });
        }
        i = next;
    }
    out
}

/// The token that starts at byte `i` of `src` (`None`: white space or a comment), and
/// the byte just past it (past the end of `src` after an unclosed char literal).
fn token_at(src: &str, i: usize) -> (Option<Kind>, usize) {
    let b = src.as_bytes();
    let c = b[i];
    if c.is_ascii_whitespace() {
        (None, i + 1)
    } else if b[i..].starts_with(b"//") {
        (None, scan(b, i, |x| x != b'\n'))
    } else if b[i..].starts_with(b"/*") {
        (None, block_comment_end(b, i))
    } else if c == b'"' {
        let (value, end) = string(src, i + 1);
        (Some(Kind::Str(value)), end)
    } else if c == b'r' && matches!(b.get(i + 1), Some(b'"' | b'#')) && raw_string_start(b, i) {
        raw_string(src, i)
    } else if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 {
        let end = scan(b, i, |x| {
            x == b'_' || x.is_ascii_alphanumeric() || x >= 0x80
        });
        (Some(Kind::Ident(src[i..end].to_string())), end)
    } else if c.is_ascii_digit() {
        let end = scan(b, i, |x| {
            x == b'_' || x.is_ascii_alphanumeric() || x == b'.'
        });
        (Some(Kind::Other), end)
    } else if c == b'\'' {
        (Some(Kind::Other), char_or_lifetime_end(b, i))
    } else {
        let ch = src[i..].chars().next().unwrap_or(' ');
        (Some(Kind::Punct(ch)), i + ch.len_utf8())
    }
}

/// The first index from `i` whose byte does not satisfy `keep` (or the end).
fn scan(b: &[u8], mut i: usize, keep: impl Fn(u8) -> bool) -> usize {
    while i < b.len() && keep(b[i]) {
        i += 1;
    }
    i
}

/// The index after the (nested) block comment opened at `i`, or the end.
fn block_comment_end(b: &[u8], mut i: usize) -> usize {
    let mut depth = 0;
    while i < b.len() {
        if b[i..].starts_with(b"/*") {
            depth += 1;
            i += 2;
        } else if b[i..].starts_with(b"*/") {
            depth -= 1;
            i += 2;
            if depth == 0 {
                break;
            }
        } else {
            i += 1;
        }
    }
    i
}

/// The raw string literal (`r"…"`, `r#"…"#`) at `i`: its value and the index after it.
fn raw_string(src: &str, i: usize) -> (Option<Kind>, usize) {
    let b = src.as_bytes();
    let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
    let body = i + 2 + hashes;
    let close: Vec<u8> = std::iter::once(b'"')
        .chain(std::iter::repeat_n(b'#', hashes))
        .collect();
    let end = find(b, body, &close).unwrap_or(b.len());
    let value = src[body..end.min(src.len())].to_string();
    (Some(Kind::Str(value)), (end + close.len()).min(b.len()))
}

/// The index after the char literal (`'a'`, `'\n'`, `'\''`) or lifetime (`'a`) at `i`.
fn char_or_lifetime_end(b: &[u8], mut i: usize) -> usize {
    i += 1;
    if b.get(i) == Some(&b'\\') {
        i = scan(b, i + 2, |x| x != b'\'');
        i + 1
    } else if b.get(i + 1) == Some(&b'\'') {
        i + 2
    } else {
        scan(b, i, |x| x == b'_' || x.is_ascii_alphanumeric())
    }
}

fn raw_string_start(b: &[u8], i: usize) -> bool {
    let hashes = b[i + 1..].iter().take_while(|&&h| h == b'#').count();
    b.get(i + 1 + hashes) == Some(&b'"')
        && (i == 0 || !(b[i - 1] == b'_' || b[i - 1].is_ascii_alphanumeric()))
}

fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&i| hay[i..].starts_with(needle))
}

/// A string literal's value from just after its opening quote; returns the value and
/// the index after the closing quote.
fn string(src: &str, from: usize) -> (String, usize) {
    let mut value = String::new();
    let mut chars = src[from..].char_indices();
    while let Some((k, c)) = chars.next() {
        match c {
            '"' => return (value, from + k + 1),
            '\\' => match chars.next() {
                Some((_, 'n')) => value.push('\n'),
                Some((_, 't')) => value.push('\t'),
                Some((_, other)) => value.push(other),
                None => break,
            },
            c => value.push(c),
        }
    }
    (value, src.len())
}

/// The index of the token that closes the bracket opened at `open`.
pub fn matching(tokens: &[Token], open: usize) -> Option<usize> {
    let mut depth = 0i32;
    for (k, t) in tokens.iter().enumerate().skip(open) {
        match t.kind {
            Kind::Punct('(' | '[' | '{') => depth += 1,
            Kind::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(src: &str) -> Vec<Kind> {
        tokens(src).into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn comments_strings_and_lifetimes() {
        assert_eq!(
            kinds("a /* x /* y */ */ // z\n \"q\\\"\" r#\"raw\"# 'c' 'lt 1_000"),
            vec![
                Kind::Ident("a".into()),
                Kind::Str("q\"".into()),
                Kind::Str("raw".into()),
                Kind::Other,
                Kind::Other,
                Kind::Other
            ]
        );
    }

    #[test]
    fn brackets_match_across_nesting() {
        let t = tokens("vec![Box::new(a::M), f([1], {2})]");
        let open = t.iter().position(|t| t.is_punct('[')).unwrap();
        let close = matching(&t, open).unwrap();
        assert_eq!(t[close].end, "vec![Box::new(a::M), f([1], {2})]".len());
    }
}
