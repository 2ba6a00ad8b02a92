//! What each migration file declares (`REVISES` and `fn name`), remembered between
//! runs so that `create` and `merge` read only the files that changed since the last
//! time. It is a cache and nothing more: an entry holds the file's identity as the
//! file system reports it (device, inode, size, and modification and status-change
//! times in nanoseconds) and is used only while a fresh `stat` of that name reports
//! exactly the same. No ordinary tool can set the status-change time, so a file edited
//! in place, touched back to its old time, or replaced by another (even one with the
//! same size and modification time) has a new stamp. Any doubt (no index, an unreadable
//! one, another version's, another directory's, a changed stamp, a stamp too recent to
//! be trusted) means the file is read, as it always was before the index existed.
//!
//! The index lives in the workspace's directory under the target directory
//! (`fresh::state_dir`), beside `fresh`'s records, and is replaced atomically (a temporary file renamed over it); a failure to write it only
//! means the next run reads the files again.

use std::borrow::Cow;
use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::text::fnv1a;

use super::module::{ModuleFacts, parse_module};

const VERSION: &str = env!("CARGO_PKG_VERSION");
/// Bump when the file's layout, or what `parse_module` returns for a text, changes.
const FORMAT: u32 = 1;
/// How old a file's timestamps must be before its entry is kept. A file system
/// stamps files with a coarse clock (a kernel tick; FAT: 2 s), so a file written twice
/// within one tick keeps one stamp: an entry made from the first write would match the
/// second. Once the stamp is older than this, any later change gets another.
const SETTLED: Duration = Duration::from_secs(3);

/// A file's identity as `stat` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    /// Nanoseconds since the epoch.
    mtime: i128,
    /// The status change (any write, rename or `touch`), nanoseconds since the epoch.
    ctime: i128,
}

impl Stamp {
    #[cfg(unix)]
    fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        let ns = |secs: i64, nanos: i64| i128::from(secs) * 1_000_000_000 + i128::from(nanos);
        Some(Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime: ns(meta.mtime(), meta.mtime_nsec()),
            ctime: ns(meta.ctime(), meta.ctime_nsec()),
        })
    }

    /// Elsewhere there is no status-change time to trust: no index.
    #[cfg(not(unix))]
    fn of(_: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Whether the file last changed long enough before `now` (ns) that a change after
    /// now would stamp it differently.
    fn settled(&self, now: i128) -> bool {
        self.mtime.max(self.ctime) <= now - SETTLED.as_nanos() as i128
    }
}

/// An entry of the index as read: ranges of its text.
#[derive(Debug)]
struct Kept {
    /// The whole line, with its line break: written back as it is when the entry is kept.
    line: Range<usize>,
    rel: Range<usize>,
    stamp: Stamp,
    name: Option<Range<usize>>,
    /// The ids, tab-separated.
    revises: Option<Range<usize>>,
    /// Answered a question of this run (it is kept again).
    used: bool,
}

/// An entry made by this run.
#[derive(Debug)]
struct Found {
    rel: String,
    stamp: Stamp,
    facts: ModuleFacts,
}

/// The module files of one directory, read through the index.
///
/// The index is a text file: a header line, the directory, then one line a file, sorted
/// by name, of tab-separated fields: the file's path relative to the directory, device,
/// inode, size, modification and status-change times (ns), `-` or `=<name>`, and `-` or
/// `=` followed by the ids it revises, a field each. A name or id with a tab or a line
/// break in it is never kept (that file is read every time).
pub(crate) struct Index {
    dir: PathBuf,
    /// Where the index is kept; `None`: no index, every file is read.
    file: Option<PathBuf>,
    /// When this run started, ns since the epoch.
    now: i128,
    /// The index as the last run left it, and its entries.
    text: String,
    kept: Vec<Kept>,
    /// Where the next question is likely answered (questions come in name order).
    next: usize,
    /// Entries made by this run.
    found: Vec<Found>,
    /// How many files were read (not answered by the index).
    reads: usize,
}

impl Index {
    /// The index of the module files in `dir`, kept in `state_dir` (none: every file is
    /// read and nothing is kept).
    pub(crate) fn open(state_dir: Option<&Path>, dir: &Path) -> Index {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(i128::MIN / 2, |d| d.as_nanos() as i128);
        Index::open_at(state_dir, dir, now)
    }

    fn open_at(state_dir: Option<&Path>, dir: &Path, now: i128) -> Index {
        let file = state_dir
            .zip(dir.to_str())
            .filter(|(_, d)| !d.contains(['\n', '\r']))
            .map(|(t, d)| t.join(file_name(d)));
        let (text, kept) = file
            .as_deref()
            .and_then(|f| std::fs::read_to_string(f).ok())
            .and_then(|text| {
                let kept = parse(&text, dir)?;
                Some((text, kept))
            })
            .unwrap_or_default();
        Index {
            dir: dir.to_path_buf(),
            file,
            now,
            text,
            kept,
            next: 0,
            found: Vec::new(),
            reads: 0,
        }
    }

    /// What the file at `path` (`rel` in the directory) declares; an error of kind
    /// `NotFound` when there is no such file. `listed`: its metadata as a listing of the
    /// directory reported it, which saves looking the path up again.
    pub(crate) fn facts(
        &mut self,
        path: &Path,
        rel: &str,
        listed: Option<&std::fs::Metadata>,
    ) -> std::io::Result<ModuleFacts> {
        if self.file.is_some() {
            // A symbolic link's own metadata does not change with its target's text.
            let stamp = match listed.filter(|m| !m.file_type().is_symlink()) {
                Some(meta) => Stamp::of(meta),
                None => Stamp::of(&std::fs::metadata(path)?),
            };
            if let Some(stamp) = stamp.filter(|s| s.settled(self.now))
                && let Some(k) = self.find(rel)
                && self.kept[k].stamp == stamp
            {
                self.kept[k].used = true;
                let entry = &self.kept[k];
                let text = self.text.as_str();
                return Ok(ModuleFacts {
                    revises: entry.revises.clone().map(|r| {
                        let ids = &text[r];
                        if ids.is_empty() {
                            Vec::new()
                        } else {
                            ids.split('\t').map(str::to_string).collect()
                        }
                    }),
                    name: entry.name.clone().map(|r| text[r].to_string()),
                });
            }
        }
        // The stamp of the open file, taken before its text: the text is never older
        // than the stamp it is kept with.
        let mut file = std::fs::File::open(path)?;
        let stamp = match self.file {
            Some(_) => file.metadata().ok().and_then(|m| Stamp::of(&m)),
            None => None,
        };
        let mut source = String::new();
        file.read_to_string(&mut source)?;
        self.reads += 1;
        let facts = parse_module(&source);
        if let Some(stamp) = stamp.filter(|s| s.settled(self.now))
            && keepable(rel)
            && facts.name.as_deref().is_none_or(keepable)
            && facts
                .revises
                .iter()
                .flatten()
                .all(|id| keepable(id) && !id.is_empty())
        {
            self.found.push(Found {
                rel: rel.to_string(),
                stamp,
                facts: facts.clone(),
            });
        }
        Ok(facts)
    }

    /// The kept entry of `rel`.
    fn find(&mut self, rel: &str) -> Option<usize> {
        let text = self.text.as_str();
        let at = match self.kept.get(self.next) {
            Some(k) if &text[k.rel.clone()] == rel => self.next,
            _ => self
                .kept
                .binary_search_by(|k| text[k.rel.clone()].cmp(rel))
                .ok()?,
        };
        self.next = at + 1;
        Some(at)
    }

    /// Keeps what this run found for the next, if it differs from what was kept: the
    /// files asked for, and no others.
    pub(crate) fn save(&self) {
        let Some(file) = &self.file else { return };
        if self.found.is_empty() && self.kept.iter().all(|k| k.used) {
            return;
        }
        let text = self.text.as_str();
        // (rel, line): a kept entry's line as it was read, a new one formatted.
        let mut lines: Vec<(&str, Cow<str>)> = Vec::new();
        for k in self.kept.iter().filter(|k| k.used) {
            lines.push((&text[k.rel.clone()], Cow::Borrowed(&text[k.line.clone()])));
        }
        for f in &self.found {
            let revises = f.facts.revises.as_ref().map(|ids| ids.join("\t"));
            let line = line(&f.rel, f.stamp, f.facts.name.as_deref(), revises.as_deref());
            lines.push((&f.rel, Cow::Owned(line)));
        }
        // One entry a file: this run's over the kept one.
        lines.reverse();
        lines.sort_by(|a, b| a.0.cmp(b.0));
        lines.dedup_by(|a, b| a.0 == b.0);
        let Some(dir) = self.dir.to_str() else { return };
        let mut out = format!("{}\n{dir}\n", header());
        out.reserve(lines.iter().map(|(_, l)| l.len()).sum());
        for (_, line) in &lines {
            out.push_str(line);
        }
        let Some(parent) = file.parent() else { return };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        let mut tmp = file.clone().into_os_string();
        tmp.push(format!(".{}.tmp", std::process::id()));
        let tmp = PathBuf::from(tmp);
        if std::fs::write(&tmp, out).is_err() || std::fs::rename(&tmp, file).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}

fn header() -> String {
    format!("cargo-migrate module index {FORMAT} {VERSION}")
}

/// Whether a string can be a field.
fn keepable(s: &str) -> bool {
    !s.contains(['\t', '\n', '\r'])
}

fn line(rel: &str, s: Stamp, name: Option<&str>, revises: Option<&str>) -> String {
    let opt = |v: Option<&str>| v.map_or("-".to_string(), |v| format!("={v}"));
    format!(
        "{rel}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
        s.dev,
        s.ino,
        s.size,
        s.mtime,
        s.ctime,
        opt(name),
        opt(revises)
    )
}

/// The entries of an index of `dir`, sorted by name; `None` unless the text is exactly
/// this version's index of it.
fn parse(text: &str, dir: &Path) -> Option<Vec<Kept>> {
    let (first, rest) = text.split_once('\n')?;
    let (second, mut rest) = rest.split_once('\n')?;
    if first != header() || Some(second) != dir.to_str() {
        return None;
    }
    let base = text.as_ptr() as usize;
    let range = |s: &str| {
        let start = s.as_ptr() as usize - base;
        start..start + s.len()
    };
    let number = |s: &str| s.parse::<u64>().ok();
    let time = |s: &str| {
        s.parse::<i64>()
            .map(i128::from)
            .or_else(|_| s.parse::<i128>())
            .ok()
    };
    let opt = |field: &str| match field.strip_prefix('=') {
        Some(v) => Some(Some(range(v))),
        None => (field == "-").then_some(None),
    };
    let mut kept = Vec::new();
    while !rest.is_empty() {
        let (line, after) = rest.split_once('\n')?;
        rest = after;
        let whole = range(line);
        let whole = whole.start..whole.end + 1;
        let mut fields = Fields(line);
        let rel = range(fields.next()?);
        let stamp = Stamp {
            dev: number(fields.next()?)?,
            ino: number(fields.next()?)?,
            size: number(fields.next()?)?,
            mtime: time(fields.next()?)?,
            ctime: time(fields.next()?)?,
        };
        let name = opt(fields.next()?)?;
        let revises = opt(fields.0)?;
        kept.push(Kept {
            line: whole,
            rel,
            stamp,
            name,
            revises,
            used: false,
        });
    }
    if !kept.is_sorted_by(|a, b| text[a.rel.clone()] < text[b.rel.clone()]) {
        return None;
    }
    Some(kept)
}

/// The tab-separated fields of a line, one at a time; `.0` is the rest.
struct Fields<'a>(&'a str);

impl<'a> Fields<'a> {
    fn next(&mut self) -> Option<&'a str> {
        // Fields are short: a plain scan beats a `memchr` set up for each.
        let at = self.0.bytes().position(|b| b == b'\t')?;
        let field = &self.0[..at];
        self.0 = &self.0[at + 1..];
        Some(field)
    }
}

fn file_name(dir: &str) -> String {
    // As `fresh` names its records: a hash stable across Rust versions.
    let h = fnv1a(format!("{VERSION}\n{FORMAT}\n{dir}").as_bytes());
    format!("modules-{h:016x}.idx")
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    /// A module file's text: `REVISES` and the name, padded to one size.
    fn module(name: &str, parent: &str) -> String {
        format!(
            "pub const REVISES: &[&str] = &[{parent:?}];\nimpl MigrationName for Migration {{\n    \
             fn name(&self) -> &str {{\n        {name:?}\n    }}\n}}\n"
        )
    }

    struct Dirs {
        _tmp: tempfile::TempDir,
        src: PathBuf,
        target: PathBuf,
    }

    fn dirs() -> Dirs {
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("src");
        let target = tmp.path().join("target");
        std::fs::create_dir(&src).unwrap();
        Dirs {
            src,
            target,
            _tmp: tmp,
        }
    }

    /// An hour from now: every file written so far is settled.
    fn later() -> i128 {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        (now + Duration::from_secs(3600)).as_nanos() as i128
    }

    /// Reads `names` through a fresh index, saves it; the facts and how many files were
    /// read rather than answered by the index.
    fn run(d: &Dirs, names: &[&str], now: i128) -> (Vec<ModuleFacts>, usize) {
        let mut index = Index::open_at(Some(&d.target), &d.src, now);
        let facts = names
            .iter()
            .map(|n| index.facts(&d.src.join(n), n, None).unwrap())
            .collect();
        index.save();
        (facts, index.reads)
    }

    fn parents(facts: &[ModuleFacts]) -> Vec<Vec<String>> {
        facts.iter().map(|f| f.revises.clone().unwrap()).collect()
    }

    fn mtime(path: &Path) -> SystemTime {
        std::fs::metadata(path).unwrap().modified().unwrap()
    }

    #[test]
    fn unchanged_files_are_answered_by_the_index() {
        let d = dirs();
        std::fs::write(d.src.join("m1.rs"), module("m1", "m0")).unwrap();
        std::fs::write(d.src.join("m2.rs"), module("m2", "m1")).unwrap();
        let (first, reads) = run(&d, &["m1.rs", "m2.rs"], later());
        assert_eq!(reads, 2);
        let (second, reads) = run(&d, &["m1.rs", "m2.rs"], later());
        assert_eq!(reads, 0);
        assert_eq!(first, second);
        assert_eq!(second[1].name.as_deref(), Some("m2"));
        assert_eq!(parents(&second), [vec!["m0"], vec!["m1"]]);
    }

    #[test]
    fn without_a_target_directory_every_file_is_read() {
        let d = dirs();
        let path = d.src.join("m1.rs");
        std::fs::write(&path, module("m1", "m0")).unwrap();
        for _ in 0..2 {
            let mut index = Index::open_at(None, &d.src, later());
            assert!(index.facts(&path, "m1.rs", None).is_ok());
            index.save();
            assert_eq!(index.reads, 1);
        }
        assert!(!d.target.exists());
    }

    #[test]
    fn an_edit_of_the_same_size_is_read_again() {
        let d = dirs();
        let path = d.src.join("m2.rs");
        std::fs::write(&path, module("m2", "m1")).unwrap();
        let (_, reads) = run(&d, &["m2.rs"], later());
        assert_eq!(reads, 1);
        // Same size, a new modification time.
        std::fs::write(&path, module("m2", "mX")).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(mtime(&path) + Duration::from_secs(7))
            .unwrap();
        drop(file);
        let (facts, reads) = run(&d, &["m2.rs"], later());
        assert_eq!((parents(&facts), reads), (vec![vec!["mX".to_string()]], 1));
        // Edited again and touched back to the old modification time: the status change
        // still tells (once the clock has moved past the first edit's tick).
        let before = mtime(&path);
        std::thread::sleep(Duration::from_millis(50));
        std::fs::write(&path, module("m2", "mY")).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(before).unwrap();
        drop(file);
        assert_eq!(mtime(&path), before);
        let (facts, reads) = run(&d, &["m2.rs"], later());
        assert_eq!((parents(&facts), reads), (vec![vec!["mY".to_string()]], 1));
    }

    #[test]
    fn a_linked_file_is_known_by_its_target() {
        let d = dirs();
        let target = d.src.parent().unwrap().join("shared.rs");
        std::fs::write(&target, module("m2", "m1")).unwrap();
        let link = d.src.join("m2.rs");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let facts = |index: &mut Index| {
            // As a directory listing reports it: the link's own metadata.
            let listed = std::fs::symlink_metadata(&link).unwrap();
            let f = index.facts(&link, "m2.rs", Some(&listed)).unwrap();
            index.save();
            f.revises.unwrap()
        };
        assert_eq!(
            facts(&mut Index::open_at(Some(&d.target), &d.src, later())),
            ["m1"]
        );
        let mut index = Index::open_at(Some(&d.target), &d.src, later());
        assert_eq!(
            (facts(&mut index), index.reads),
            (vec!["m1".to_string()], 0)
        );
        std::fs::write(&target, module("m2", "mV")).unwrap();
        let file = std::fs::File::options().write(true).open(&target).unwrap();
        file.set_modified(mtime(&target) + Duration::from_secs(7))
            .unwrap();
        drop(file);
        let mut index = Index::open_at(Some(&d.target), &d.src, later());
        assert_eq!(facts(&mut index), ["mV"]);
        assert_eq!(index.reads, 1);
    }

    #[test]
    fn a_file_replaced_by_another_of_the_same_name_is_read() {
        let d = dirs();
        let path = d.src.join("m2.rs");
        std::fs::write(&path, module("m2", "m1")).unwrap();
        run(&d, &["m2.rs"], later());
        // Another file, the same size and modification time, renamed over it.
        let other = d.src.join("m2.rs.new");
        std::fs::write(&other, module("m2", "mZ")).unwrap();
        let file = std::fs::File::options().write(true).open(&other).unwrap();
        file.set_modified(mtime(&path)).unwrap();
        drop(file);
        std::fs::rename(&other, &path).unwrap();
        let (facts, reads) = run(&d, &["m2.rs"], later());
        assert_eq!((parents(&facts), reads), (vec![vec!["mZ".to_string()]], 1));
    }

    #[test]
    fn a_removed_file_is_gone_from_the_index() {
        let d = dirs();
        std::fs::write(d.src.join("m1.rs"), module("m1", "m0")).unwrap();
        std::fs::write(d.src.join("m2.rs"), module("m2", "m1")).unwrap();
        run(&d, &["m1.rs", "m2.rs"], later());
        std::fs::remove_file(d.src.join("m2.rs")).unwrap();
        let mut index = Index::open_at(Some(&d.target), &d.src, later());
        assert_eq!(
            index
                .facts(&d.src.join("m2.rs"), "m2.rs", None)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
        assert!(index.facts(&d.src.join("m1.rs"), "m1.rs", None).is_ok());
        index.save();
        let index = Index::open_at(Some(&d.target), &d.src, later());
        let kept: Vec<&str> = index
            .kept
            .iter()
            .map(|k| &index.text[k.rel.clone()])
            .collect();
        assert_eq!(kept, ["m1.rs"]);
    }

    #[test]
    fn a_file_changed_within_the_last_seconds_is_not_kept() {
        let d = dirs();
        let path = d.src.join("m2.rs");
        std::fs::write(&path, module("m2", "m1")).unwrap();
        // Now: the file's stamp is too recent to be trusted, so an edit within the same
        // clock tick (same size, same stamp) is still seen.
        let (_, reads) = run(&d, &["m2.rs"], Index::open(None, &d.src).now);
        assert_eq!(reads, 1);
        std::fs::write(&path, module("m2", "mW")).unwrap();
        let (facts, reads) = run(&d, &["m2.rs"], Index::open(None, &d.src).now);
        assert_eq!((parents(&facts), reads), (vec![vec!["mW".to_string()]], 1));
        assert!(!d.target.join(file_name(d.src.to_str().unwrap())).exists());
    }

    #[test]
    fn another_version_or_a_damaged_index_is_ignored() {
        let d = dirs();
        std::fs::write(d.src.join("m1.rs"), module("m1", "m0")).unwrap();
        run(&d, &["m1.rs"], later());
        let file = d.target.join(file_name(d.src.to_str().unwrap()));
        let text = std::fs::read_to_string(&file).unwrap();
        let other = text.replace(&header(), "cargo-migrate module index 1 0.0.0");
        assert_ne!(text, other);
        for damaged in [other.as_str(), &text[..text.len() - 1], "", "\u{0}"] {
            std::fs::write(&file, damaged).unwrap();
            assert_eq!(run(&d, &["m1.rs"], later()).1, 1, "{damaged:?}");
            // Rewritten from the file.
            assert_eq!(std::fs::read_to_string(&file).unwrap(), text);
        }
        assert_eq!(run(&d, &["m1.rs"], later()).1, 0);
    }

    #[test]
    fn what_a_file_declares_is_kept_exactly() {
        let d = dirs();
        std::fs::create_dir(d.src.join("m3")).unwrap();
        let files = [
            ("m0.rs", "pub const REVISES: &[&str] = &[];\n".to_string()),
            ("m1.rs", module("=x", "m0")),
            (
                "m2.rs",
                "pub const REVISES: &[&str] = &[\"a\", \"b-c\", \"=d\"];".to_string(),
            ),
            ("m3/mod.rs", "// no declarations\n".to_string()),
            ("m4.rs", "pub const REVISES: &[&str] = &[\"\"];".to_string()),
            (
                "m5.rs",
                "pub const REVISES: &[&str] = &[\"a\\tb\"];".to_string(),
            ),
        ];
        for (rel, text) in &files {
            std::fs::write(d.src.join(rel), text).unwrap();
        }
        let rels: Vec<&str> = files.iter().map(|(rel, _)| *rel).collect();
        let (read, reads) = run(&d, &rels, later());
        assert_eq!(reads, files.len());
        let expected: Vec<ModuleFacts> = files.iter().map(|(_, t)| parse_module(t)).collect();
        assert_eq!(read, expected);
        // Ids an index line cannot hold are read every time.
        let (again, reads) = run(&d, &rels, later());
        assert_eq!((again, reads), (expected, 2));
    }
}
