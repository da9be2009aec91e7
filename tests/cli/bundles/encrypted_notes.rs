//! Bundles that disclose annotations and custody events whose fields are stored encrypted
//! (FORMAT.md §23.10): the records travel unchanged; both verifiers accept them.

use super::*;

const RECIPIENT: &str = "age18ta5d3g6rp6qef4wcddv6kzx3jlr34najk6rjkw7crv4empcrpgqn4e3j3";
const BODY: &str = "Witness W-017 (Mariia K.) identifies the officer.";

/// A clear document with an encrypted annotation and an encrypted custody note, exported.
fn bundle_with_encrypted_notes() -> (Workspace, PathBuf) {
    let ws = Workspace::new();
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", RECIPIENT]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("case/a.txt", "a clear statement\n");
    ws.add(&["case"]);
    let (code, _, stderr) = ws.run(&["annotate", "case/a.txt", "--body", BODY, "--encrypt"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = ws.run(&[
        "custody",
        "case/a.txt",
        "--event",
        "received",
        "--actor",
        "Investigator A",
        "--from",
        "Mariia K.",
        "--encrypt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    ws.seal();
    let bundle = ws.path("bundle");
    export(&ws, &bundle, &["--all"]);
    (ws, bundle)
}

#[test]
fn a_bundle_with_encrypted_notes_verifies_with_both_verifiers_and_leaks_nothing() {
    let (ws, bundle) = bundle_with_encrypted_notes();
    assert_bundle_ok(&ws, &bundle);
    for entry in walkdir::WalkDir::new(&bundle) {
        let entry = entry.expect("walk");
        if entry.file_type().is_file() {
            let bytes = fs::read(entry.path()).expect("read");
            assert!(
                !bytes.windows(9).any(|w| w == b"Mariia K."),
                "{} holds the hidden text",
                entry.path().display()
            );
        }
    }
    let page = fs::read_to_string(bundle.join("report.html")).expect("report");
    assert!(
        page.contains("[encrypted]"),
        "the report must say the body is encrypted"
    );
}
