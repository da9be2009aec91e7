//! Original names are evidence (FORMAT.md §5.1): a file whose name is not UTF-8, or holds a
//! control character, a backslash or an escape-shaped `%HH`, is recorded under an escaped,
//! reversible logical path, with its exact name bytes in the record. Bundles: see
//! tests/cli/bundles/names.rs.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;

use serde_json::Value;

use evidentia::core::digest::Digest;
use evidentia::core::path::{from_name_bytes, unescape_component};
use evidentia::core::record::{Collection, DocumentRecord, Header, Record};

use crate::common::Workspace;

/// The odd names of one case directory: (name bytes, expected logical path, content).
pub const ODD_NAMES: [(&[u8], &str, &str); 8] = [
    (b"bad\xff.txt", "case/bad%FF.txt", "not UTF-8\n"),
    (
        b"line\nbreak.txt",
        "case/line%0Abreak.txt",
        "a newline in the name\n",
    ),
    (
        b"tab\there.txt",
        "case/tab%09here.txt",
        "a tab in the name\n",
    ),
    // A backslash (a separator on Windows) reads `\\` when the exact name is shown.
    (
        b"back\\xff.txt",
        "case/back%5Cxff.txt",
        "a backslash in the name\n",
    ),
    // The escape character itself, shaped like an escape: its `%` is escaped in turn.
    (b"100%41.txt", "case/100%2541.txt", "looks like an escape\n"),
    // A `%` not followed by two upper-case hex digits is a plain character.
    (b"50% off.txt", "case/50% off.txt", "a plain percent\n"),
    (
        b"d\xe9p\xf4ts/inner.txt",
        "case/d%E9p%F4ts/inner.txt",
        "Latin-1 directory\n",
    ),
    (b"plain.txt", "case/plain.txt", "an ordinary name\n"),
];

/// A workspace whose `case/` directory holds every name of [`ODD_NAMES`], added in one command.
pub fn odd_case() -> Workspace {
    let ws = Workspace::new();
    for (name, _, content) in ODD_NAMES {
        let path = ws.path("case").join(OsStr::from_bytes(name));
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(&path, content).expect("write an odd name");
    }
    let (code, _, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "every odd name must be recorded: {stderr}");
    ws
}

fn ls_json(ws: &Workspace) -> Vec<Value> {
    let (code, stdout, stderr) = ws.run(&["ls", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let value: Value = serde_json::from_str(&stdout).expect("ls --json");
    value["documents"].as_array().expect("documents").clone()
}

#[test]
fn odd_names_are_all_recorded_in_one_add() {
    let ws = odd_case();
    let docs = ls_json(&ws);
    let mut paths: Vec<&str> = docs.iter().map(|d| d["path"].as_str().unwrap()).collect();
    paths.sort();
    let mut expected: Vec<&str> = ODD_NAMES.iter().map(|(_, p, _)| *p).collect();
    expected.sort();
    assert_eq!(paths, expected);
    for (name, logical, content) in ODD_NAMES {
        let doc = docs.iter().find(|d| d["path"] == logical).expect("listed");
        let raw = [b"case/", name].concat();
        let escaped = logical != format!("case/{}", String::from_utf8_lossy(name));
        // --json: the exact bytes in hex (lossless) and a lossy display string, only when
        // the path had to be escaped.
        if escaped {
            assert_eq!(doc["original_path_hex"], hex::encode(&raw), "{doc}");
            assert_eq!(doc["original_path_lossy"], *String::from_utf8_lossy(&raw));
        } else {
            assert!(doc["original_path_hex"].is_null(), "{doc}");
        }
        // Round trip: logical path -> exact bytes, and bytes -> the same logical path.
        let back: Vec<u8> = logical
            .split('/')
            .map(unescape_component)
            .collect::<Vec<_>>()
            .join(&b'/');
        assert_eq!(back, raw, "{logical}");
        let components: Vec<&[u8]> = raw.split(|b| *b == b'/').collect();
        assert_eq!(from_name_bytes(&components).expect("a path").path, logical);
        // `cat` by logical path gives the content.
        let (code, stdout, stderr) = ws.run(&["cat", logical]);
        assert_eq!((code, stdout.as_str()), (0, content), "{logical}: {stderr}");
    }
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["documents"], ODD_NAMES.len(), "{report}");
}

#[test]
fn show_ls_log_and_history_give_the_original_name_safely() {
    let ws = odd_case();
    let (code, stdout, stderr) = ws.run(&["show", "case/line%0Abreak.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("path:"), "{stdout}");
    assert!(stdout.contains("case/line%0Abreak.txt"), "{stdout}");
    // The newline is shown escaped: it cannot start a line of its own.
    let shown = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("original path:"));
    assert!(
        shown.is_some_and(|l| l.ends_with(" case/line\\u{a}break.txt")),
        "{stdout}"
    );
    let (code, stdout, _) = ws.run(&["show", "case/bad%FF.txt"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("case/bad\\xff.txt"), "{stdout}");
    let (_, stdout, _) = ws.run(&["show", "case/back%5Cxff.txt"]);
    assert!(stdout.contains("case/back\\\\xff.txt"), "{stdout}");
    let (_, stdout, _) = ws.run(&["show", "case/bad%FF.txt", "--json"]);
    let shown: Value = serde_json::from_str(&stdout).expect("json");
    let json_text = serde_json::to_string(&shown).expect("json");
    assert!(
        json_text.contains(&hex::encode(b"case/bad\xff.txt")),
        "{json_text}"
    );

    let (_, stdout, _) = ws.run(&["ls"]);
    assert!(
        stdout.contains("case/tab%09here.txt  (file named \"case/tab\\u{9}here.txt\")"),
        "{stdout}"
    );
    assert!(!stdout.contains('\t'), "{stdout}");
    let (_, stdout, _) = ws.run(&["log"]);
    assert!(
        stdout.contains("(file named \"case/line\\u{a}break.txt\")"),
        "{stdout}"
    );
    for line in stdout.lines() {
        assert!(!line.starts_with("break"), "a name broke a line: {stdout}");
    }
    let (code, stdout, stderr) = ws.run(&["history", "case/d%E9p%F4ts/inner.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("from the file named \"case/d\\xe9p\\xf4ts/inner.txt\""),
        "{stdout}"
    );
}

#[test]
fn add_reports_each_escaped_name_and_keeps_lines_whole() {
    let ws = Workspace::new();
    ws.write("case/ok.txt", "ok");
    fs::write(ws.path("case").join("fake\nVERIFIED"), "x").expect("write");
    symlink("ok.txt", ws.path("case").join("link\nVERIFIED")).expect("symlink");
    let (code, stdout, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("  case/fake%0AVERIFIED\n"), "{stdout}");
    assert!(
        stderr.contains(
            "escaped: case/fake%0AVERIFIED is the file named \"case/fake\\u{a}VERIFIED\""
        ),
        "{stderr}"
    );
    // A symbolic link met in a walk is reported, one line per link, its name escaped.
    assert!(
        stderr.contains("link\\u{a}VERIFIED: symbolic link, not followed"),
        "{stderr}"
    );
    for out in [&stdout, &stderr] {
        assert!(!out.lines().any(|l| l.starts_with("VERIFIED")), "{out}");
    }
}

#[test]
fn a_plain_name_shaped_like_an_escape_never_joins_an_escaped_one() {
    // `a%FF` (plain text) and `a<0xff>` are different files: both recorded, under two paths.
    let ws = Workspace::new();
    ws.write("case/a%FF", "the plain one");
    fs::write(
        ws.path("case").join(OsStr::from_bytes(b"a\xff")),
        "the raw one",
    )
    .expect("write");
    let (code, _, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 0, "{stderr}");
    let docs = ls_json(&ws);
    let paths: Vec<&str> = docs.iter().map(|d| d["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["case/a%25FF", "case/a%FF"]);
    let (_, stdout, _) = ws.run(&["cat", "case/a%FF"]);
    assert_eq!(stdout, "the raw one");
    let (_, stdout, _) = ws.run(&["cat", "case/a%25FF"]);
    assert_eq!(stdout, "the plain one");
}

/// A document record built as a forger holding the archive would: the path and original-name
/// of one file, the original-path of another.
fn forged_document(path: &str, original_name: &str, original_path: &[u8]) -> Vec<u8> {
    let record = Record::Document(Box::new(DocumentRecord {
        header: Header::now(),
        content: Digest::of(b"x"),
        size: 1,
        media_type: "text/plain".into(),
        path: path.into(),
        original_name: original_name.into(),
        original_path: Some(original_path.to_vec()),
        encryption: None,
        collection: Collection::default(),
    }));
    // `encode`, not `encode_checked`: the forger skips the writer's own check.
    record.encode().expect("encodable")
}

#[test]
fn forged_original_name_is_refused_by_verify() {
    for (path, name, raw, why) in [
        // The record claims the file was named `bad<0xfe>.txt`, but its path says 0xff.
        (
            "x/bad%FF.txt",
            "bad%FF.txt",
            &b"x/bad\xfe.txt"[..],
            "gives the logical path",
        ),
        // The right bytes, but the original-name names another file.
        (
            "x/bad%FF.txt",
            "good.txt",
            b"x/bad\xff.txt",
            "gives the original-name",
        ),
        // A plain name passed off as escaped.
        (
            "x/good.txt",
            "good.txt",
            b"x/good.txt",
            "no component needs escaping",
        ),
    ] {
        let ws = Workspace::new();
        ws.write("x.txt", "x");
        ws.add(&["x.txt"]);
        ws.seal();
        let digest = ws.plant_record(&forged_document(path, name, raw));
        let item = format!("record #1 ({digest})");
        let (code, report) = ws.verify_json();
        assert_eq!(code, 1, "{report}");
        let problems = report["problems"].as_array().expect("problems");
        assert_eq!(problems.len(), 1, "{report}");
        assert_eq!(problems[0]["item"], item.as_str(), "{report}");
        assert_eq!(problems[0]["code"], "record-invalid", "{report}");
        let message = problems[0]["detail"].as_str().unwrap_or_default();
        assert!(
            message.contains("original-path") && message.contains(why),
            "{report}"
        );
    }
}

#[test]
fn honest_escaped_record_is_not_accused() {
    // The control for the forgeries above: the same record with matching fields verifies.
    let ws = Workspace::new();
    ws.write("x.txt", "x");
    ws.add(&["x.txt"]);
    ws.seal();
    ws.plant_record(&forged_document(
        "x/bad%FF.txt",
        "bad%FF.txt",
        b"x/bad\xff.txt",
    ));
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
}

/// The shipped bundle script decodes every document record vector as evidentia does: the
/// escaped-name rules are the same in both verifiers, valid and forged alike.
#[test]
fn bundle_script_agrees_on_the_document_record_vectors() {
    if !crate::common::script_tools_present() {
        return;
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let program = r#"
import importlib.util, json, os, sys
spec = importlib.util.spec_from_file_location("vb", sys.argv[1])
vb = importlib.util.module_from_spec(spec)
spec.loader.exec_module(vb)
checked, wrong = 0, []
for name in sorted(os.listdir(sys.argv[2])):
    if not (name.startswith("document-") or name == "unknown-field.json"):
        continue
    case = json.load(open(os.path.join(sys.argv[2], name)))
    try:
        vb.record(bytes.fromhex(case["hex"]))
        accepted = True
    except vb.Bad:
        accepted = False
    checked += 1
    if accepted != case["valid"]:
        wrong.append(name)
print(checked, " ".join(wrong))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(root.join("docs/verify-bundle.py"))
        .arg(root.join("fixtures/vectors/records"))
        .output()
        .expect("run python3");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (checked, wrong) = stdout
        .trim_end()
        .split_once(' ')
        .unwrap_or((stdout.trim(), ""));
    assert!(checked.parse::<u32>().is_ok_and(|n| n >= 15), "{stdout}");
    assert_eq!(
        wrong, "",
        "the script disagrees with the vectors on: {wrong}"
    );
}

#[test]
fn an_older_literal_name_is_not_joined_by_an_escaped_one() {
    // Before names were escaped, a file literally named `a%FF` had the path `case/a%FF` and no
    // original-path. The file `a<0xff>` escapes to that same path: it must not become a new
    // version of the other file.
    let ws = Workspace::new();
    ws.plant_object(b"legacy");
    let legacy = Record::Document(Box::new(DocumentRecord {
        header: Header::now(),
        content: Digest::of(b"legacy"),
        size: 6,
        media_type: "application/octet-stream".into(),
        path: "case/a%FF".into(),
        original_name: "a%FF".into(),
        original_path: None,
        encryption: None,
        collection: Collection::default(),
    }));
    ws.plant_record(&legacy.encode_checked().expect("a valid record"));
    ws.seal();
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "an older literal name is honest: {report}");
    fs::create_dir_all(ws.path("case")).expect("mkdir");
    fs::write(ws.path("case").join(OsStr::from_bytes(b"a\xff")), "raw").expect("write");
    let (code, _, stderr) = ws.run(&["add", "case"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("'case/a%FF' is already the literal name of another document"),
        "{stderr}"
    );
    assert_eq!(ws.log_size(), 1, "nothing recorded");
}
