//! The README's examples, run as a reader would type them, so they cannot drift from the tool
//! (issue 13).
//!
//! Conventions in README.md:
//! - Every ```` ```sh ```` block is run, in README order, by bash in one temporary directory that
//!   is also `$HOME`, with the `evidentia` under test first on `PATH` and `EVIDENTIA_PASSPHRASE`
//!   set. Variables (exported or not) and the working directory carry over from one command to
//!   the next and from block to block, as in one terminal session.
//! - A command is a line that is not a `#` comment (with `\` continuation lines). It must exit
//!   0, unless its trailing comment or one of its output lines says `(exit N)`.
//! - Lines `#   TEXT` (a `#` and three or more spaces) right after a command show its output:
//!   each must match a line of its standard output or error, where `…` or `...` stands for any
//!   text (with the spaces before it), a run of spaces for any run of spaces, and an RFC 3339
//!   time for any time. `HEX…` (4+ hex digits, then `…`) stands for any hex digits, because
//!   ids and digests change from run to run; in later commands the word HEX (or `HEX…`) then
//!   stands for all the digits really printed.
//! - `<!-- readme-test setup: WHY` (one line), commands, `-->`: run before the next block (each
//!   must exit 0), they make the reader's own files that an example names, unseen on the
//!   rendered page.
//! - `<!-- readme-test skip: REASON -->` right before a block skips it; the test names it and
//!   prints the reason. Only blocks that cannot run here (network, the whole build) may be
//!   marked.
//! - `<!-- readme-test cluster: REASON -->` right before a block runs it only when
//!   `EVIDENTIA_TEST_S3` names a cluster (as tests/cli/cluster does; else it is skipped like
//!   the above, except under `CI=true`, where that fails), without its `tests/cluster/garage.sh` lines (that cluster is already up), and
//!   with the README's bucket `s3://evidentia/` standing for a fresh prefix under
//!   `EVIDENTIA_TEST_S3`.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;

/// The passphrase of every key the examples create.
const PASSPHRASE: &str = "readme example passphrase";

/// What one command must do.
#[derive(Debug)]
struct Step {
    /// Where it is: the block's name and the README line.
    place: String,
    command: String,
    exit: i32,
    shown: Vec<String>,
}

/// A ```` ```sh ```` block or a setup comment, in README order.
#[derive(Debug)]
struct Block {
    name: String,
    marker: Option<Marker>,
    steps: Vec<Step>,
}

/// How a `readme-test` comment before a block says it is run.
#[derive(Debug, PartialEq)]
enum Marker {
    Skip(String),
    Cluster(String),
}

/// The blocks of `readme`, named by the section they are in.
fn blocks(readme: &str) -> Vec<Block> {
    let lines: Vec<&str> = readme.lines().collect();
    let mut blocks = Vec::new();
    let mut section = String::from("(top)");
    let mut in_section = 0;
    let mut marker: Option<Marker> = None;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(title) = line.strip_prefix("## ").or(line.strip_prefix("### ")) {
            section = title.trim().to_string();
            in_section = 0;
        } else if let Some(reason) = line.strip_prefix("<!-- readme-test skip:") {
            marker = Some(Marker::Skip(reason_of(reason)));
        } else if let Some(reason) = line.strip_prefix("<!-- readme-test cluster:") {
            marker = Some(Marker::Cluster(reason_of(reason)));
        } else if line.starts_with("<!-- readme-test setup") {
            let start = i + 1;
            while i < lines.len() && lines[i].trim() != "-->" {
                i += 1;
            }
            let name = format!("setup (line {start})");
            blocks.push(Block {
                steps: steps(&name, &lines[start..i.min(lines.len())], start),
                name,
                marker: None,
            });
        } else if line.trim_end() == "```sh" {
            let start = i + 1;
            i += 1;
            while i < lines.len() && lines[i].trim_end() != "```" {
                i += 1;
            }
            in_section += 1;
            let name = format!("'{section}' block {in_section} (line {start})");
            blocks.push(Block {
                steps: steps(&name, &lines[start..i.min(lines.len())], start),
                name,
                marker: marker.take(),
            });
        } else if !line.trim().is_empty() {
            marker = None;
        }
        i += 1;
    }
    blocks
}

/// The reason in a marker comment's rest of line; one is required.
fn reason_of(rest: &str) -> String {
    let reason = rest.trim_end().trim_end_matches("-->").trim();
    assert!(
        !reason.is_empty(),
        "a readme-test marker without a reason: {rest}"
    );
    reason.to_string()
}

/// Fenced blocks that hold commands but would escape the test: another shell info string
/// (`bash`, `console`, …), or none with a line starting `evidentia `. Named by README line.
fn unrun_examples(readme: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut open: Option<(usize, String)> = None;
    for (index, line) in readme.lines().enumerate() {
        let number = index + 1;
        match (&open, line.trim_end().strip_prefix("```")) {
            (None, Some(info)) => {
                let info = info.trim();
                if ["bash", "shell", "console", "shell-session", "zsh"].contains(&info) {
                    found.push(format!("line {number}: a ```{info} block; use ```sh"));
                }
                open = Some((number, info.to_string()));
            }
            (Some(_), Some(_)) => open = None,
            (Some((start, info)), None) if info.is_empty() && line.starts_with("evidentia ") => {
                found.push(format!(
                    "line {number}: a command in the plain block of line {start}; use ```sh"
                ));
            }
            _ => {}
        }
    }
    found
}

/// The commands of a block's `lines` (the first being README line `first` + 1).
fn steps(block: &str, lines: &[&str], first: usize) -> Vec<Step> {
    let mut steps: Vec<Step> = Vec::new();
    let mut attached = false;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let number = first + i + 1;
        i += 1;
        if line.trim().is_empty() {
            attached = false;
        } else if let Some(text) = line.strip_prefix('#') {
            match steps.last_mut() {
                Some(step) if attached && text.starts_with("   ") => {
                    let (text, exit) = exit_note(text);
                    step.exit = exit.unwrap_or(step.exit);
                    step.shown.push(text.trim().to_string());
                }
                _ => attached = false,
            }
        } else {
            let mut command = line.to_string();
            while command.ends_with('\\') && i < lines.len() {
                command.push('\n');
                command.push_str(lines[i]);
                i += 1;
            }
            let exit = comment(&command).and_then(|c| exit_note(c).1).unwrap_or(0);
            steps.push(Step {
                place: format!("{block}, README line {number}"),
                command,
                exit,
                shown: Vec::new(),
            });
            attached = true;
        }
    }
    steps
}

/// `text` without its `(exit N)` note, and N.
fn exit_note(text: &str) -> (String, Option<i32>) {
    if let Some(start) = text.find("(exit ") {
        let rest = &text[start + "(exit ".len()..];
        if let Some(end) = rest.find(')') {
            if let Ok(code) = rest[..end].trim().parse() {
                let without = format!("{}{}", &text[..start], &rest[end + 1..]);
                return (without, Some(code));
            }
        }
    }
    (text.to_string(), None)
}

/// The trailing `# comment` of a shell command: a `#` starting a word outside quotes.
fn comment(command: &str) -> Option<&str> {
    let (mut single, mut double, mut previous) = (false, false, ' ');
    for (at, c) in command.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single && previous != '\\' => double = !double,
            '#' if !single && !double && previous.is_whitespace() => return Some(&command[at..]),
            _ => {}
        }
        previous = c;
    }
    None
}

/// One piece of a shown output line.
#[derive(Debug, PartialEq)]
enum Piece {
    Text(char),
    Space,
    Any,
    Time,
    Hex(String),
}

/// A shown output line as pieces, by the rules at the top of this file.
fn pattern(shown: &str) -> Vec<Piece> {
    let chars: Vec<char> = shown.chars().collect();
    let mut pieces = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rest: String = chars[i..].iter().collect();
        let word_start = i == 0 || !chars[i - 1].is_ascii_alphanumeric();
        let hex = chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_hexdigit())
            .count();
        if let Some(len) = time_len(&rest) {
            pieces.push(Piece::Time);
            i += len;
        } else if word_start && hex >= 4 && chars.get(i + hex) == Some(&'…') {
            pieces.push(Piece::Hex(chars[i..i + hex].iter().collect()));
            i += hex + 1;
        } else if rest.starts_with('…') || rest.starts_with("...") {
            pieces.push(Piece::Any);
            i += if rest.starts_with('…') { 1 } else { 3 };
        } else if chars[i].is_whitespace() {
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            // "intact ..." elides "intact: their bytes ...": the space is part of the elision
            let rest: String = chars[i..].iter().collect();
            if !rest.starts_with('…') && !rest.starts_with("...") {
                pieces.push(Piece::Space);
            }
        } else {
            pieces.push(Piece::Text(chars[i]));
            i += 1;
        }
    }
    pieces
}

/// The length of an RFC 3339 time at the start of `text` (YYYY-MM-DDTHH:MM:SS[.f](Z|±HH:MM)).
fn time_len(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        range
            .clone()
            .all(|k| b.get(k).is_some_and(u8::is_ascii_digit))
    };
    let at = |k: usize, c: u8| b.get(k) == Some(&c);
    if !(digits(0..4) && at(4, b'-') && digits(5..7) && at(7, b'-') && digits(8..10))
        || !(at(10, b'T') && digits(11..13) && at(13, b':') && digits(14..16) && at(16, b':'))
        || !digits(17..19)
    {
        return None;
    }
    let mut end = 19;
    if at(end, b'.') {
        end += 1;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
    }
    if at(end, b'Z') {
        Some(end + 1)
    } else if (at(end, b'+') || at(end, b'-')) && digits(end + 1..end + 3) && at(end + 3, b':') {
        digits(end + 4..end + 6).then_some(end + 6)
    } else {
        None
    }
}

/// Whether `pieces` match `line` from character `at` to its end; on success the hex digits
/// each `Hex` piece matched are added to `bound`.
fn matches(pieces: &[Piece], line: &[char], at: usize, bound: &mut Vec<(String, String)>) -> bool {
    let Some((first, rest)) = pieces.split_first() else {
        return true; // the pattern matched; what follows on the line does not matter
    };
    match first {
        Piece::Text(c) => line.get(at) == Some(c) && matches(rest, line, at + 1, bound),
        Piece::Space => {
            let run = line[at.min(line.len())..]
                .iter()
                .take_while(|c| c.is_whitespace())
                .count();
            run > 0 && matches(rest, line, at + run, bound)
        }
        Piece::Any => (at..=line.len()).any(|k| matches(rest, line, k, bound)),
        Piece::Time => {
            let text: String = line[at.min(line.len())..].iter().collect();
            time_len(&text)
                .is_some_and(|len| matches(rest, line, at + text[..len].chars().count(), bound))
        }
        Piece::Hex(name) => {
            let run = line[at.min(line.len())..]
                .iter()
                .take_while(|c| c.is_ascii_hexdigit())
                .count();
            (1..=run).rev().any(|len| {
                let ok = matches(rest, line, at + len, bound);
                if ok {
                    bound.push((name.clone(), line[at..at + len].iter().collect()));
                }
                ok
            })
        }
    }
}

/// Whether the shown line matches some line of `output`; binds its `HEX…` names if so.
fn shown_in(shown: &str, output: &str, bound: &mut BTreeMap<String, String>) -> bool {
    let pieces = pattern(shown);
    output.lines().any(|line| {
        let line: Vec<char> = line.chars().collect();
        let mut found = Vec::new();
        let ok = (0..=line.len()).any(|at| matches(&pieces, &line, at, &mut found));
        if ok {
            bound.extend(found);
        }
        ok
    })
}

/// `command` with each word bound by an earlier output (and a `…` after it) replaced by all
/// the digits really printed: a full digest is a unique prefix, and a full checkpoint hash.
fn substitute(command: &str, bound: &BTreeMap<String, String>) -> String {
    let mut out = command.to_string();
    for (name, actual) in bound {
        let mut replaced = String::new();
        let mut rest = out.as_str();
        while let Some(at) = rest.find(name.as_str()) {
            let word = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
            let mut after = &rest[at + name.len()..];
            replaced.push_str(&rest[..at]);
            if word(rest[..at].chars().last()) || word(after.chars().next()) {
                replaced.push_str(name);
            } else {
                replaced.push_str(actual);
                after = after.strip_prefix('…').unwrap_or(after);
            }
            rest = after;
        }
        replaced.push_str(rest);
        out = replaced;
    }
    out
}

/// A bash session spread over one process per command: the variables and the directory are
/// saved after each command and restored before the next.
struct Session {
    home: tempfile::TempDir,
    state: PathBuf,
    path: String,
}

impl Session {
    fn new(harness: &Path) -> Session {
        let bin = harness.join("bin");
        fs::create_dir_all(&bin).expect("bin directory");
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_evidentia"), bin.join("evidentia"))
            .expect("link the binary");
        let system = std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into());
        Session {
            home: tempfile::tempdir().expect("home directory"),
            state: harness.join("state.sh"),
            path: format!("{}:{system}", bin.display()),
        }
    }

    /// Runs one command; returns (exit code, stdout, stderr).
    fn run(&self, command: &str) -> (i32, String, String) {
        let script = format!(
            "set -a\n[ -f \"$README_STATE\" ] && . \"$README_STATE\"\n{command}\n__status=$?\n\
             {{ export -p | grep -v -E '^declare -x (PWD|OLDPWD|SHLVL|_|__status)=' ; \
             printf 'cd %q\\n' \"$PWD\"; }} > \"$README_STATE\"\nexit $__status\n"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(script)
            .current_dir(self.home.path())
            .env_clear()
            .env("PATH", &self.path)
            .env("HOME", self.home.path())
            .env("LANG", "C.UTF-8")
            .env("EVIDENTIA_PASSPHRASE", PASSPHRASE)
            .env("README_STATE", &self.state)
            .envs(std::env::vars().filter(|(name, _)| name.starts_with("AWS_")))
            .timeout(Duration::from_secs(120))
            .output()
            .expect("run bash");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Runs one step; a description of what went wrong, if anything.
fn check(
    session: &Session,
    step: &Step,
    command: &str,
    bound: &mut BTreeMap<String, String>,
) -> Option<String> {
    let (code, stdout, stderr) = session.run(command);
    let output = format!("{stdout}{stderr}");
    let mut wrong = Vec::new();
    if code != step.exit {
        wrong.push(format!("exit code {code}, the README says {}", step.exit));
    }
    // A failed command's output binds nothing: its digests are not the ones meant.
    let mut scratch = BTreeMap::new();
    let binds = if code == step.exit {
        bound
    } else {
        &mut scratch
    };
    for shown in &step.shown {
        if !shown_in(shown, &output, binds) {
            wrong.push(format!("shown output not printed: {shown}"));
        }
    }
    if output.contains("panicked") {
        wrong.push("the binary panicked".into());
    }
    (!wrong.is_empty()).then(|| {
        format!(
            "{}:\n  $ {command}\n  {}\n  --- stdout:\n{stdout}  --- stderr:\n{stderr}",
            step.place,
            wrong.join("\n  ")
        )
    })
}

/// For a `cluster` block: a fresh address on the test cluster for the README's bucket, or
/// None when no cluster is configured.
fn cluster_bucket() -> Option<String> {
    let base = std::env::var("EVIDENTIA_TEST_S3")
        .ok()
        .filter(|b| !b.is_empty())?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    Some(format!(
        "{}/readme-{nanos}-{}/",
        base.trim_end_matches('/'),
        std::process::id()
    ))
}

#[test]
fn readme_examples_run() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md");
    let readme = fs::read_to_string(&readme_path).expect("read README.md");
    let harness = tempfile::tempdir().expect("harness directory");
    let session = Session::new(harness.path());
    let mut bound = BTreeMap::new();
    let mut failures = Vec::new();
    let mut ran = 0;
    for block in blocks(&readme) {
        let bucket = match &block.marker {
            None => None,
            Some(Marker::Skip(reason)) => {
                eprintln!("README {} not run: {reason}", block.name);
                continue;
            }
            Some(Marker::Cluster(reason)) => match cluster_bucket() {
                Some(bucket) => Some(bucket),
                None => {
                    // As in tests/cli/cluster: in CI a skipped cluster example would hide a regression.
                    assert!(
                        std::env::var("CI").as_deref() != Ok("true"),
                        "CI=true but EVIDENTIA_TEST_S3 is unset: README {} cannot run",
                        block.name
                    );
                    eprintln!(
                        "README {} not run (EVIDENTIA_TEST_S3 is unset): {reason}",
                        block.name
                    );
                    continue;
                }
            },
        };
        for step in &block.steps {
            let mut command = substitute(&step.command, &bound);
            if let Some(bucket) = &bucket {
                if command.contains("tests/cluster/garage.sh") {
                    eprintln!(
                        "README {}: not run, the cluster is up: {command}",
                        step.place
                    );
                    continue;
                }
                command = command.replace("s3://evidentia/", bucket);
            }
            ran += 1;
            failures.extend(check(&session, step, &command, &mut bound));
        }
    }
    assert!(
        ran > 20,
        "only {ran} README command(s) found: is the parser broken?"
    );
    assert!(
        failures.is_empty(),
        "{} README example(s) do not run as shown (the first may cause the rest):\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn readme_examples_are_all_in_sh_blocks() {
    let readme = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("read README.md");
    let escaping = unrun_examples(&readme);
    assert!(
        escaping.is_empty(),
        "README examples the test would not run:\n{}",
        escaping.join("\n")
    );
    let sample = "```console\n$ x\n```\n```\nevidentia ls\n```\n```sh\nevidentia ls\n```\n";
    assert_eq!(unrun_examples(sample).len(), 2);
}

#[test]
fn readme_block_parsing() {
    let sample = "## One\n<!-- readme-test skip: needs the moon -->\n```sh\nevidentia x\n```\n\
                  <!-- readme-test setup: files\ntouch a\n-->\n### Two\n```sh\n# a comment\n\
                  evidentia y \\\n  --flag   # says (exit 3)\n#   shown one\n#   shown two\n\
                  # prose\n#   not output: after prose\nevidentia z\n```\n";
    let parsed = blocks(sample);
    let names: Vec<&str> = parsed.iter().map(|b| b.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "'One' block 1 (line 3)",
            "setup (line 6)",
            "'Two' block 1 (line 10)"
        ]
    );
    assert_eq!(
        parsed[0].marker,
        Some(Marker::Skip("needs the moon".into()))
    );
    assert_eq!(parsed[1].steps[0].command, "touch a");
    let two = &parsed[2].steps;
    assert_eq!(two.len(), 2);
    assert_eq!(two[0].command, "evidentia y \\\n  --flag   # says (exit 3)");
    assert_eq!((two[0].exit, two[0].shown.len()), (3, 2));
    assert_eq!((two[1].exit, two[1].shown.len()), (0, 0));
    assert!(two[1].place.ends_with("README line 18"));
}

#[test]
fn shown_output_matching_rules() {
    let mut bound = BTreeMap::new();
    let out = "sha256:4f7a00112233  field/IMG_0012.jpg\n  checkpoint 1: 27 records";
    assert!(shown_in(
        "sha256:9999abcd…  field/IMG_0012.jpg",
        out,
        &mut bound
    ));
    assert_eq!(
        bound.get("9999abcd").map(String::as_str),
        Some("4f7a00112233")
    );
    assert!(shown_in("checkpoint 1:   27 records", out, &mut bound));
    assert!(shown_in("checkpoint … records", out, &mut bound));
    assert!(shown_in("checkpoint 1 ...", out, &mut bound));
    assert!(shown_in("checkpoint …: 27", out, &mut bound));
    assert!(!shown_in("checkpoint 2: 27 records", out, &mut bound));
    assert!(!shown_in("sha256:4f7a…  other.jpg", out, &mut bound));
    let timed = "#12  2026-12-01T03:40:00.5Z  introduced";
    assert!(shown_in(
        "#12 2026-01-10T09:00:00Z introduced",
        timed,
        &mut bound
    ));
    assert!(!shown_in(
        "#13 2026-01-10T09:00:00Z introduced",
        timed,
        &mut bound
    ));
    assert_eq!(
        substitute(
            "show 9999abcd; --hash 9999abcd… x9999abcd 9999abcdx",
            &bound
        ),
        "show 4f7a00112233; --hash 4f7a00112233 x9999abcd 9999abcdx"
    );
    assert_eq!(comment("show '#12'  # a record"), Some("# a record"));
    assert_eq!(
        exit_note(" NOT OK   (exit 3)"),
        (" NOT OK   ".to_string(), Some(3))
    );
}
