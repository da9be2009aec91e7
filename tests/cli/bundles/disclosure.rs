//! Selective disclosure: nothing about an undisclosed document may leak into a bundle.

use super::*;

#[test]
fn selective_disclosure_leaks_nothing_about_undisclosed_documents() {
    let ws = Workspace::new();
    ws.write("case/a.txt", "Statement of witness A.\n");
    ws.write("case/b.txt", "Statement of witness B.\n");
    ws.write(SECRET_PATH, SECRET);
    let public = added(&ws.add(&["case", "--tag", "public"]));
    let secret = added(&ws.add(&[
        "witnesses",
        "--collector",
        SECRET_COLLECTOR,
        "--note",
        SECRET_NOTE,
        "--tag",
        SECRET_TAG,
    ]));
    assert_eq!(public.len(), 2);
    assert_eq!(secret[0].1, SECRET_PATH);
    let secret_hex = secret[0].0.clone();
    // A harmless annotation and custody event on a.txt are disclosed; the ones naming the
    // secret document are withheld.
    run_ok(
        &ws,
        &["annotate", "case/a.txt", "--body", "consistent account"],
    );
    run_ok(
        &ws,
        &[
            "annotate",
            "case/a.txt",
            "--body",
            LINKING_BODY,
            "--link",
            &format!("corroborates:{}", &secret_hex[..16]),
        ],
    );
    run_ok(
        &ws,
        &[
            "custody",
            "case/a.txt",
            "--event",
            "transferred",
            "--actor",
            "Courier 7",
        ],
    );
    run_ok(
        &ws,
        &[
            "custody",
            "case/a.txt",
            SECRET_PATH,
            "--event",
            "transferred",
            "--actor",
            "Courier 8",
            "--note",
            "bag-of-both-items",
        ],
    );
    ws.seal();
    let sealed = ws.log_size();
    let secret_record = ws
        .record_digests()
        .iter()
        .map(Digest::to_hex)
        .nth(2)
        .expect("the secret's record is third");

    let bundle = ws.path("bundle");
    let stdout = export(
        &ws,
        &bundle,
        &["--select", "case/a.txt", "--select", &public[1].0[..12]],
    );
    assert!(stdout.contains("2 document(s)"), "{stdout}");
    assert!(
        stdout.contains("withheld") && stdout.contains("1 annotation(s), 1 custody event(s)"),
        "{stdout}"
    );
    let manifest = read_manifest(&bundle);
    assert_eq!(
        manifest["withheld"],
        serde_json::json!({"annotations": 1, "custody_events": 1, "retractions": 0}),
        "{manifest}"
    );
    let kinds: Vec<&str> = manifest["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["document", "document", "annotation", "custody"],
        "{manifest}"
    );

    // Nothing about the undisclosed document, in any file of the bundle.
    let forbidden = [
        SECRET.trim_end(),
        "SECRET-WITNESS-NAME",
        SECRET_PATH,
        "identity-of-witness-7",
        SECRET_COLLECTOR,
        SECRET_NOTE,
        SECRET_TAG,
        LINKING_BODY,
        "bag-of-both-items",
        "Courier 8",
        &secret_hex,
        &secret_hex.to_uppercase(),
        &secret_record,
    ];
    let walked = walkdir::WalkDir::new(&bundle)
        .into_iter()
        .filter(|e| e.as_ref().expect("walk").file_type().is_file())
        .count();
    assert!(walked >= 10, "walked only {walked} files");
    for needle in forbidden {
        let found = files_revealing(&bundle, needle);
        assert!(found.is_empty(), "'{needle}' is revealed by {found:?}");
    }
    // The control: the same search finds what was disclosed, in documents and in records.
    for needle in [
        "Statement of witness A.",
        public[0].0.as_str(),
        "consistent account",
        "Courier 7",
    ] {
        assert!(
            !files_revealing(&bundle, needle).is_empty(),
            "the search misses disclosed '{needle}'"
        );
    }
    assert!(bundle.join("report.html").is_file());

    // It verifies; the undisclosed records still count in the tree.
    let report = assert_bundle_ok(&ws, &bundle);
    assert_eq!(manifest["tree_size"], sealed, "{manifest}");
    assert_eq!(report["checkpoint"]["size"], sealed, "{report}");
    assert_eq!(report["records_checked"], 4, "{report}");
    let undisclosed = sealed - 4;
    assert!(
        strings(&report["not_proven"])
            .iter()
            .any(|p| p.contains(&format!("{undisclosed} undisclosed record(s)"))),
        "{report}"
    );
    let exported: Vec<&str> = report["documents"]
        .as_array()
        .expect("documents")
        .iter()
        .map(|d| d["path"].as_str().expect("path"))
        .collect();
    assert_eq!(exported, ["case/a.txt", "case/b.txt"], "{report}");
}

/// The files under `root` whose name or bytes contain `needle`.
fn files_revealing(root: &Path, needle: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(root) {
        let entry = entry.expect("walk");
        let in_name = entry.path().to_string_lossy().contains(needle);
        let in_bytes = entry.file_type().is_file()
            && fs::read(entry.path())
                .expect("read")
                .windows(needle.len())
                .any(|w| w == needle.as_bytes());
        if in_name || in_bytes {
            out.push(entry.path().to_path_buf());
        }
    }
    out
}

fn run_ok(ws: &Workspace, args: &[&str]) -> String {
    let (code, stdout, stderr) = run(ws, args, &[]);
    assert_eq!(code, 0, "evidentia {args:?} failed: {stderr}");
    stdout
}
