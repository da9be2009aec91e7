//! Derived lookup data, rebuilt from the log whenever it is missing, damaged or behind:
//!
//! - `by-path`: one line per document record, `<path hex> <content hex> <record hex>`, where
//!   `<path hex>` is the SHA-256 of the logical path, so `add` finds the latest version of a
//!   path;
//! - `by-content`: one line per document record, `<content hex> <record hex>`, so a content
//!   digest given by a user (or being stored) is found;
//! - `manifest`: the index version, how many log records the index reflects, and the runs.
//!
//! Each namespace is a short list of sorted runs (`runs.rs`), oldest first, named by the range
//! of log positions they reflect. A command writes its own lines as one new run, then merges
//! the newest two runs while the older is less than [`MERGE_RATIO`] times the newer, so run
//! sizes fall geometrically: at most log2(n) runs, a lookup costs a few reads per run, and each
//! line is rewritten O(log n) times in all. Nothing is ever scanned whole or loaded.
//!
//! Nothing here is trusted by `verify`, and `add` confirms every hit against its record. A
//! writer that finds the manifest behind the log (after a crash) replays the missing records;
//! one that finds it missing, damaged, of another version or naming an unusable run rebuilds.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rayon::prelude::*;

use crate::core::digest::Digest;
use crate::error::{Error, Result};

use super::filter::{self, Filter, FilterWriter};
use super::fsutil;
use super::runs::{self, Run};

/// Bumped whenever the index changes, so older indexes are rebuilt.
const INDEX_VERSION: u64 = 5;
const MANIFEST: &str = "manifest";
/// The newest run is merged into the one before it while that one is less than this many
/// times larger.
pub const MERGE_RATIO: u64 = 2;
/// Files and directories of earlier index versions, removed when the index is rebuilt.
const OLD_LAYOUT: [&str; 3] = ["paths", "contents", "covered"];
/// A manifest names at most 2 × 64 runs; anything longer is not one.
const MANIFEST_MAX: u64 = 64 * 1024;

/// The other one or two fields of an index line: (content, record) for `by-path`, (record,
/// none) for `by-content`.
type Rest = (Digest, Option<Digest>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Namespace {
    ByPath = 0,
    ByContent = 1,
}

const NAMESPACES: [Namespace; 2] = [Namespace::ByPath, Namespace::ByContent];

impl Namespace {
    fn dir_name(self) -> &'static str {
        match self {
            Namespace::ByPath => "by-path",
            Namespace::ByContent => "by-content",
        }
    }

    /// Whether its runs have filters (`filter.rs`): content lookups of an `add` are mostly
    /// of new content, which a filter answers without searching; path lookups are batched.
    fn filtered(self) -> bool {
        self == Namespace::ByContent
    }

    /// Bytes per line: three or two 64-digit fields, each followed by SP or LF.
    fn width(self) -> usize {
        match self {
            Namespace::ByPath => 3 * 65,
            Namespace::ByContent => 2 * 65,
        }
    }
}

/// One run as the manifest names it: the log positions [from, to) it reflects and its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct RunName {
    from: u64,
    to: u64,
    lines: u64,
}

impl RunName {
    fn file(&self) -> String {
        format!("{}-{}", self.from, self.to)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Manifest {
    covered: u64,
    runs: [Vec<RunName>; 2],
}

impl Manifest {
    fn to_text(&self) -> String {
        let mut text = format!(
            "evidentia-index {INDEX_VERSION}\ncovered {}\n",
            self.covered
        );
        for ns in NAMESPACES {
            for run in &self.runs[ns as usize] {
                text.push_str(&format!("{} {} {}\n", ns.dir_name(), run.file(), run.lines));
            }
        }
        text
    }

    /// The manifest in `text`, or `None` unless it is exactly of the current version and its
    /// runs are ordered, disjoint, non-empty and within `covered`.
    fn parse(text: &str) -> Option<Manifest> {
        let mut lines = text.strip_suffix('\n')?.split('\n');
        if lines.next()? != format!("evidentia-index {INDEX_VERSION}") {
            return None;
        }
        let number = |s: &str| -> Option<u64> {
            (!s.is_empty()
                && s.bytes().all(|b| b.is_ascii_digit())
                && (s == "0" || !s.starts_with('0')))
            .then(|| s.parse().ok())?
        };
        let mut manifest = Manifest {
            covered: number(lines.next()?.strip_prefix("covered ")?)?,
            ..Manifest::default()
        };
        for line in lines {
            let mut fields = line.split(' ');
            let name = fields.next()?;
            let ns = NAMESPACES.into_iter().find(|ns| ns.dir_name() == name)?;
            let (from, to) = fields.next()?.split_once('-')?;
            let run = RunName {
                from: number(from)?,
                to: number(to)?,
                lines: number(fields.next()?)?,
            };
            let runs = &mut manifest.runs[ns as usize];
            let after_previous = runs.last().is_none_or(|prev| prev.to <= run.from);
            let sound = run.from < run.to && run.to <= manifest.covered && run.lines > 0;
            if fields.next().is_some() || !after_previous || !sound {
                return None;
            }
            runs.push(run);
        }
        Some(manifest)
    }
}

/// The manifest and its runs, opened once per handle.
struct Opened {
    /// `None` when the manifest is missing or unusable.
    manifest: Option<Manifest>,
    runs: [Vec<Run>; 2],
    /// Each run's filter, where it has a usable one.
    filters: [Vec<Option<Filter>>; 2],
    /// False when a run the manifest names could not be opened (lookups miss its lines).
    complete: bool,
}

/// Splits an index line into its first field and the other one or two (all lowercase hex
/// digests); `None` for anything else (the index is a hint, never trusted: damaged lines are
/// skipped).
fn parse_line(line: &[u8]) -> Option<(Digest, Rest)> {
    let mut fields = line.split(|&b| b == b' ');
    let key = Digest::from_lower_hex(fields.next()?)?;
    let first = Digest::from_lower_hex(fields.next()?)?;
    let second = match fields.next() {
        None => None,
        Some(field) => Some(Digest::from_lower_hex(field)?),
    };
    fields.next().is_none().then_some((key, (first, second)))
}

/// Adds to `out` the other fields of each of `lines` whose key is `key`, once each.
fn keep_matches(key: &Digest, lines: &[Vec<u8>], out: &mut Vec<Rest>) {
    for (found, rest) in lines.iter().filter_map(|l| parse_line(l)) {
        if found == *key && !out.contains(&rest) {
            out.push(rest);
        }
    }
}

/// A `by-path` line's other fields as a version (`None` for a line of the wrong shape).
fn path_version((content, record): Rest) -> Option<PathVersion> {
    Some(PathVersion {
        content,
        record: record?,
    })
}

pub struct PathIndex {
    dir: PathBuf,
    opened: Mutex<Option<Arc<Opened>>>,
}

/// Index lines ready to write: per namespace, whole lines sorted by key (stably: equal keys
/// in log order).
pub struct IndexLines([Vec<u8>; 2]);

/// One version of a path: its content and the record that put it there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathVersion {
    pub content: Digest,
    pub record: Digest,
}

impl PathIndex {
    pub fn new(dir: &Path) -> PathIndex {
        PathIndex {
            dir: dir.to_path_buf(),
            opened: Mutex::new(None),
        }
    }

    /// Creates an empty index in `dir` (by `init`).
    pub fn create(dir: &Path) -> Result<()> {
        PathIndex::new(dir).clear()
    }

    /// The manifest and runs: cached, or read again when `fresh`. A run missing because a
    /// writer merged it away after this process read the manifest is found by reading the
    /// new manifest.
    fn opened(&self, fresh: bool) -> Arc<Opened> {
        if !fresh {
            if let Some(opened) = self.opened.lock().ok().and_then(|o| o.clone()) {
                return opened;
            }
        }
        let mut opened = self.open_runs();
        if !opened.complete {
            opened = self.open_runs();
        }
        let opened = Arc::new(opened);
        if let Ok(mut slot) = self.opened.lock() {
            *slot = Some(opened.clone());
        }
        opened
    }

    fn open_runs(&self) -> Opened {
        let manifest = fsutil::read_stored(&self.dir.join(MANIFEST), MANIFEST_MAX)
            .ok()
            .and_then(|bytes| Manifest::parse(std::str::from_utf8(&bytes).ok()?));
        let mut opened = Opened {
            runs: [Vec::new(), Vec::new()],
            filters: [Vec::new(), Vec::new()],
            complete: true,
            manifest: None,
        };
        for ns in NAMESPACES {
            for run in manifest.iter().flat_map(|m| &m.runs[ns as usize]) {
                let dir = self.dir.join(ns.dir_name());
                match Run::open(&dir.join(run.file()), ns.width(), run.lines) {
                    Ok(open) => {
                        opened.runs[ns as usize].push(open);
                        let filter = ns.filtered().then(|| {
                            let path = dir.join(filter::file_name(&run.file()));
                            Filter::open(&path, &run.file(), run.lines)
                        });
                        opened.filters[ns as usize].push(filter.flatten());
                    }
                    Err(_) => opened.complete = false,
                }
            }
        }
        opened.manifest = manifest;
        opened
    }

    /// The other fields of each line whose first field is `key`, oldest first.
    fn matching(&self, ns: Namespace, key: &Digest) -> Result<Vec<Rest>> {
        let opened = self.opened(false);
        let mut out = Vec::new();
        let filters = &opened.filters[ns as usize];
        for (run, filter) in opened.runs[ns as usize].iter().zip(filters) {
            // A filter only ever rules a run out; a possible hit is searched.
            if filter.as_ref().is_some_and(|f| !f.may_hold(key)) {
                continue;
            }
            let lines = match run.find(key) {
                // A damaged run hides its own lines only: a miss, never a false hit.
                Err(Error::Corrupt { .. }) => continue,
                other => other?,
            };
            keep_matches(key, &lines, &mut out);
        }
        Ok(out)
    }

    /// [`Self::matching`] for many keys. The keys are sorted and split among the cores; each
    /// part is searched in every run in ascending order ([`Run::find_many`]), so a search
    /// starts near its answer instead of at the whole run.
    fn matching_many(&self, ns: Namespace, keys: &[Digest]) -> Result<Vec<Vec<Rest>>> {
        let opened = self.opened(false);
        let mut order: Vec<usize> = (0..keys.len()).collect();
        order.par_sort_unstable_by_key(|&i| keys[i]);
        let sorted: Vec<Digest> = order.iter().map(|&i| keys[i]).collect();
        let part_len = (sorted.len() / (4 * rayon::current_num_threads())).max(256);
        let parts: Vec<Vec<Vec<Rest>>> = sorted
            .par_chunks(part_len)
            .map(|part| {
                let mut found = vec![Vec::new(); part.len()];
                for run in &opened.runs[ns as usize] {
                    let lines = match run.find_many(part) {
                        // As in `matching`: a damaged run hides its own lines only.
                        Err(Error::Corrupt { .. }) => continue,
                        other => other?,
                    };
                    for ((key, out), lines) in part.iter().zip(&mut found).zip(lines) {
                        keep_matches(key, &lines, out);
                    }
                }
                Ok(found)
            })
            .collect::<Result<_>>()?;
        let mut out = vec![Vec::new(); keys.len()];
        for (slot, found) in order.into_iter().zip(parts.into_iter().flatten()) {
            out[slot] = found;
        }
        Ok(out)
    }

    /// All versions recorded under `logical`, oldest first.
    pub fn versions(&self, logical: &str) -> Result<Vec<PathVersion>> {
        // Every hit is checked against the record it names before it is relied on.
        Ok(self
            .matching(Namespace::ByPath, &Digest::of(logical.as_bytes()))?
            .into_iter()
            .filter_map(path_version)
            .collect())
    }

    /// [`Self::versions`] of each of `logicals`, found together (as a large `add` needs them).
    pub fn versions_many(&self, logicals: &[&str]) -> Result<Vec<Vec<PathVersion>>> {
        let keys: Vec<Digest> = logicals
            .par_iter()
            .map(|logical| Digest::of(logical.as_bytes()))
            .collect();
        Ok(self
            .matching_many(Namespace::ByPath, &keys)?
            .into_iter()
            .map(|found| found.into_iter().filter_map(path_version).collect())
            .collect())
    }

    /// Document records whose content is `content`, oldest first.
    pub fn records_for_content(&self, content: &Digest) -> Result<Vec<Digest>> {
        Ok(self
            .matching(Namespace::ByContent, content)?
            .into_iter()
            .filter(|(_, second)| second.is_none())
            .map(|(record, _)| record)
            .collect())
    }

    /// Indexes the document records, given as (logical path, version) in log order, of log
    /// positions [from, to).
    pub fn insert_many(&self, entries: &[(&str, PathVersion)], from: u64, to: u64) -> Result<()> {
        self.commit(Self::format(entries), from, to)
    }

    /// The index lines for document records, sorted: pure computation, which a writer can do
    /// while it waits for the log to become durable.
    pub fn format(entries: &[(&str, PathVersion)]) -> IndexLines {
        let mut by_path: Vec<[u8; 3 * 65]> = Vec::with_capacity(entries.len());
        let mut by_content: Vec<[u8; 2 * 65]> = Vec::with_capacity(entries.len());
        entries
            .par_iter()
            .map(|(logical, version)| {
                let path = Digest::of(logical.as_bytes()).to_hex();
                let (content, record) = (version.content.to_hex(), version.record.to_hex());
                let mut path_line = [b' '; 3 * 65];
                let mut content_line = [b' '; 2 * 65];
                for (field, text) in [&path, &content, &record].into_iter().enumerate() {
                    path_line[field * 65..field * 65 + 64].copy_from_slice(text.as_bytes());
                }
                for (field, text) in [&content, &record].into_iter().enumerate() {
                    content_line[field * 65..field * 65 + 64].copy_from_slice(text.as_bytes());
                }
                path_line[3 * 65 - 1] = b'\n';
                content_line[2 * 65 - 1] = b'\n';
                (path_line, content_line)
            })
            .unzip_into_vecs(&mut by_path, &mut by_content);
        // Stable sorts: lines of one key stay in log order.
        by_path.par_sort_by(|a, b| a[..runs::KEY_HEX].cmp(&b[..runs::KEY_HEX]));
        by_content.par_sort_by(|a, b| a[..runs::KEY_HEX].cmp(&b[..runs::KEY_HEX]));
        IndexLines([by_path.concat(), by_content.concat()])
    }

    /// Adds `lines`, reflecting log positions [from, to), as one run per namespace, merges
    /// runs (see the module comment), makes the runs durable and then commits them by
    /// replacing the manifest. Does nothing unless the index reflects exactly `from` records:
    /// a lagging or damaged index is caught up or rebuilt by the next writer instead.
    pub fn commit(&self, lines: IndexLines, from: u64, to: u64) -> Result<()> {
        let opened = self.opened(true);
        let Some(mut manifest) = opened.manifest.clone() else {
            return Ok(());
        };
        if !opened.complete || manifest.covered != from {
            return Ok(());
        }
        for ns in NAMESPACES {
            let dir = self.dir.join(ns.dir_name());
            let text = &lines.0[ns as usize];
            let runs = &mut manifest.runs[ns as usize];
            if !text.is_empty() {
                let run = RunName {
                    from,
                    to,
                    lines: (text.len() / ns.width()) as u64,
                };
                runs::write(&dir, &run.file(), text)?;
                if ns.filtered() {
                    let mut filter = FilterWriter::create(&dir, &run.file(), run.lines)?;
                    for line in text.chunks_exact(ns.width()) {
                        filter.push_line(line)?;
                    }
                    filter.finish()?;
                }
                runs.push(run);
            }
            while let [.., older, newer] = runs.as_slice() {
                if older.lines >= MERGE_RATIO.saturating_mul(newer.lines) {
                    break;
                }
                let (older, newer) = (*older, *newer);
                let merged = RunName {
                    from: older.from,
                    to: newer.to,
                    lines: older.lines + newer.lines,
                };
                let open = |run: &RunName| Run::open(&dir.join(run.file()), ns.width(), run.lines);
                let mut filter = ns
                    .filtered()
                    .then(|| FilterWriter::create(&dir, &merged.file(), merged.lines))
                    .transpose()?;
                let inputs = [&open(&older)?, &open(&newer)?];
                let count = runs::merge(&inputs, &dir, &merged.file(), |line| {
                    filter.as_mut().map_or(Ok(()), |f| f.push_line(line))
                })?;
                if count != merged.lines {
                    return Err(Error::Corrupt {
                        path: dir.join(merged.file()),
                        why: format!("merged {count} lines, expected {}", merged.lines),
                    });
                }
                if let Some(filter) = filter {
                    filter.finish()?;
                }
                runs.truncate(runs.len() - 2);
                runs.push(merged);
            }
            if ns.filtered() {
                rebuild_missing_filters(&dir, ns, runs);
            }
        }
        manifest.covered = to;
        // The runs (synced as written) and their names are durable before a manifest names
        // them: a manifest that outlived its runs in a power cut would make lookups miss.
        for ns in NAMESPACES {
            fsutil::sync_dir(&self.dir.join(ns.dir_name()))?;
        }
        fsutil::write_atomic(&self.dir.join(MANIFEST), manifest.to_text().as_bytes())?;
        self.remove_unlisted(&manifest);
        if let Ok(mut slot) = self.opened.lock() {
            *slot = None;
        }
        Ok(())
    }

    /// Deletes run files the manifest does not name: merged inputs and leftovers of
    /// interrupted commands. Best effort: a file left behind is only wasted space.
    fn remove_unlisted(&self, manifest: &Manifest) {
        for ns in NAMESPACES {
            let dir = self.dir.join(ns.dir_name());
            let listed: Vec<String> = manifest.runs[ns as usize]
                .iter()
                .flat_map(|run| [run.file(), filter::file_name(&run.file())])
                .collect();
            for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
                let name = entry.file_name();
                if !listed.iter().any(|l| name.to_str() == Some(l.as_str())) {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// How many log records the index reflects; `None` when the manifest is missing, damaged,
    /// of another index version or names a run that is missing or of the wrong length: the
    /// writer then rebuilds the index.
    pub fn covered(&self) -> Option<u64> {
        let opened = self.opened(true);
        opened
            .complete
            .then(|| opened.manifest.as_ref().map(|m| m.covered))?
    }

    /// Empties the index (before a rebuild from the start of the log, and at `init`),
    /// removing the layouts of earlier index versions too.
    pub fn clear(&self) -> Result<()> {
        if let Ok(mut slot) = self.opened.lock() {
            *slot = None;
        }
        for name in OLD_LAYOUT
            .into_iter()
            .chain(NAMESPACES.map(Namespace::dir_name))
        {
            let path = self.dir.join(name);
            let removed = match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => fs::remove_dir_all(&path),
                Ok(_) => fs::remove_file(&path),
                Err(e) => Err(e),
            };
            match removed {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(Error::io(path)(e)),
                _ => {}
            }
        }
        for ns in NAMESPACES {
            let path = self.dir.join(ns.dir_name());
            fs::create_dir_all(&path).map_err(Error::io(&path))?;
        }
        fsutil::write_atomic(
            &self.dir.join(MANIFEST),
            Manifest::default().to_text().as_bytes(),
        )
    }

    /// True unless the index is sure no document record has content `content` (an error
    /// counts as "may have": the caller then looks for the object itself).
    pub fn may_know_content(&self, content: &Digest) -> bool {
        self.records_for_content(content)
            .map_or(true, |records| !records.is_empty())
    }
}

/// Writes the filter of each of `runs` (in `dir`) that has no usable one: runs of an index
/// written before filters existed, or whose filter was lost or cut short. Best effort: a run
/// without a filter is searched for every key, which is slower, not wrong.
fn rebuild_missing_filters(dir: &Path, ns: Namespace, runs: &[RunName]) {
    for run in runs {
        let name = run.file();
        if Filter::open(&dir.join(filter::file_name(&name)), &name, run.lines).is_some() {
            continue;
        }
        let rebuilt = Run::open(&dir.join(&name), ns.width(), run.lines).and_then(|open| {
            let mut filter = FilterWriter::create(dir, &name, run.lines)?;
            open.for_each_line(|line| filter.push_line(line))?;
            filter.finish()
        });
        // Dropped on failure: its temporary file goes with it.
        drop(rebuilt);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(content: u8, record: u8) -> PathVersion {
        PathVersion {
            content: Digest([content; 32]),
            record: Digest([record; 32]),
        }
    }

    #[test]
    fn manifest_round_trips_and_rejects_variants() {
        let manifest = Manifest {
            covered: 30,
            runs: [
                vec![
                    RunName {
                        from: 0,
                        to: 20,
                        lines: 7,
                    },
                    RunName {
                        from: 20,
                        to: 30,
                        lines: 1,
                    },
                ],
                vec![RunName {
                    from: 0,
                    to: 30,
                    lines: 8,
                }],
            ],
        };
        let text = manifest.to_text();
        assert_eq!(Manifest::parse(&text), Some(manifest));
        for bad in [
            text.replace("index 5", "index 4"),
            text.replace("covered 30", "covered 29"),
            text.replace("20-30", "19-30"),
            text.replace(" 7\n", " 0\n"),
            text.replace(" 7\n", " 07\n"),
            text.replace("0-20", "../0-20"),
            text.trim_end().to_string(),
        ] {
            assert_eq!(Manifest::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn runs_merge_as_they_grow_and_versions_stay_in_log_order() {
        let dir = tempfile::tempdir().unwrap();
        let index = PathIndex::new(dir.path());
        index.clear().unwrap();
        // 40 commands of one document each, all under one path, contents 0..40.
        for i in 0..40u8 {
            index
                .insert_many(
                    &[("a.txt", version(i, 100 + i))],
                    u64::from(i),
                    u64::from(i) + 1,
                )
                .unwrap();
        }
        let versions = index.versions("a.txt").unwrap();
        assert_eq!(
            versions,
            (0..40).map(|i| version(i, 100 + i)).collect::<Vec<_>>()
        );
        assert_eq!(
            index.records_for_content(&Digest([7; 32])).unwrap(),
            vec![Digest([107; 32])]
        );
        let opened = index.opened(true);
        let sizes: Vec<u64> = opened.manifest.as_ref().unwrap().runs[0]
            .iter()
            .map(|r| r.lines)
            .collect();
        assert!(
            sizes.windows(2).all(|w| w[0] >= MERGE_RATIO * w[1]),
            "{sizes:?}"
        );
        assert!(sizes.len() <= 6, "{sizes:?}");
        // Merged inputs are gone: only the listed runs remain.
        let files = fs::read_dir(dir.path().join("by-path")).unwrap().count();
        assert_eq!(files, sizes.len());
        assert_eq!(index.covered(), Some(40));
        // A commit that does not continue the index is ignored.
        index
            .insert_many(&[("b.txt", version(1, 1))], 39, 41)
            .unwrap();
        assert_eq!(index.covered(), Some(40));
    }

    #[test]
    fn content_lookups_stay_exact_with_filters_damaged_or_missing() {
        let dir = tempfile::tempdir().unwrap();
        let index = PathIndex::new(dir.path());
        index.clear().unwrap();
        let content = |i: u32| Digest::of(&i.to_be_bytes());
        let record = |i: u32| Digest::of(format!("record {i}").as_bytes());
        // Three commands of 300, 200 and 100 documents: one merged run and one more.
        let mut position = 0u64;
        for (start, count) in [(0u32, 300u32), (300, 200), (500, 100)] {
            let paths: Vec<String> = (start..start + count).map(|i| format!("f{i}")).collect();
            let entries: Vec<(&str, PathVersion)> = (start..start + count)
                .map(|i| {
                    let version = PathVersion {
                        content: content(i),
                        record: record(i),
                    };
                    (paths[(i - start) as usize].as_str(), version)
                })
                .collect();
            let to = position + u64::from(count);
            index.insert_many(&entries, position, to).unwrap();
            position = to;
        }
        let by_content = dir.path().join("by-content");
        let listed = |suffix: &str| -> Vec<PathBuf> {
            let mut files: Vec<PathBuf> = fs::read_dir(&by_content)
                .unwrap()
                .map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(suffix))
                .collect();
            files.sort();
            files
        };
        let filters = listed(".filter");
        assert_eq!(filters.len(), 2, "{filters:?}");
        let exact = |index: &PathIndex| {
            for i in 0..600 {
                assert_eq!(
                    index.records_for_content(&content(i)).unwrap(),
                    vec![record(i)]
                );
            }
            for i in 600..3000 {
                assert!(index.records_for_content(&content(i)).unwrap().is_empty());
            }
        };
        let index = PathIndex::new(dir.path());
        exact(&index);
        let opened = index.opened(true);
        let skipped = (600..3000)
            .filter(|&i| {
                opened.filters[1]
                    .iter()
                    .all(|f| f.as_ref().is_some_and(|f| !f.may_hold(&content(i))))
            })
            .count();
        assert!(
            skipped > 2300,
            "only {skipped} of 2400 absent keys ruled out"
        );
        // Every bit cleared in one filter (checks kept), the other one deleted: no key is lost.
        let mut bytes = fs::read(&filters[0]).unwrap();
        for block in bytes.chunks_exact_mut(filter::BLOCK) {
            block[..filter::BLOCK - 8].fill(0);
        }
        fs::write(&filters[0], &bytes).unwrap();
        fs::remove_file(&filters[1]).unwrap();
        exact(&PathIndex::new(dir.path()));
        // The next commit writes the missing filter again.
        let index = PathIndex::new(dir.path());
        index
            .insert_many(
                &[(
                    "g",
                    PathVersion {
                        content: content(9999),
                        record: record(9999),
                    },
                )],
                position,
                position + 1,
            )
            .unwrap();
        assert!(listed(".filter").contains(&filters[1]));
        exact(&PathIndex::new(dir.path()));
    }

    #[test]
    fn a_damaged_run_makes_the_index_count_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let index = PathIndex::new(dir.path());
        index.clear().unwrap();
        index
            .insert_many(&[("a.txt", version(1, 2))], 0, 1)
            .unwrap();
        let run = dir.path().join("by-path/0-1");
        let mut bytes = fs::read(&run).unwrap();
        bytes.truncate(bytes.len() - 1);
        fs::write(&run, bytes).unwrap();
        assert_eq!(index.covered(), None);
        assert_eq!(index.versions("a.txt").unwrap(), Vec::new());
    }
}
