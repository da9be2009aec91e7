//! The positions of the rarer record kinds (`index/kinds/<kind>`, FORMAT.md §6): derived data
//! that spares `add --encrypt`, `log`, `retract` and metadata lookups from reading the whole
//! log. A change logged after the file was written is still seen (the log's tail is read), and
//! a file that names the wrong records is not believed.

use crate::common::{added, Workspace};
use crate::encryption::{age_identity, encrypted_archive, vector_identity};

#[test]
fn a_recipients_change_after_the_positions_were_kept_is_used() {
    let (ws, _) = encrypted_archive(&[]);
    assert!(ws.archive().join("index/kinds/recipients").is_file());
    let other = age_identity(&ws, "other.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &other]);
    assert_eq!(code, 0, "{stderr}");
    ws.write("later.txt", "added after the change\n");
    let (code, stdout, stderr) = ws.run(&["add", "--encrypt", "later.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(added(&stdout).len(), 1);
    let (code, stdout, stderr) = ws.run(&["cat", "later.txt", "--identity", "other.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "added after the change\n");
    let (code, _, _) = ws.run(&["cat", "later.txt", "--identity", &vector_identity()]);
    assert_eq!(code, 2, "the old recipient is no longer one");
}

#[test]
fn positions_that_name_other_records_are_not_believed() {
    let (ws, _) = encrypted_archive(&[]);
    let other = age_identity(&ws, "other.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &other]);
    assert_eq!(code, 0, "{stderr}");
    // Point the positions at the first recipients record only (the one `init` logged), as if
    // the change had never been made: its digest matches the log, but the file claims to cover
    // the record that changed the set.
    let digests = ws.record_digests();
    let first = digests
        .iter()
        .position(|d| {
            let (_, shown, _) = ws.run(&["show", &d.to_hex(), "--json"]);
            shown.contains("\"recipients\"")
        })
        .expect("a recipients record");
    let forged = format!(
        "covered {}\n{} sha256:{}\n{} sha256:{}\n",
        digests.len(),
        first,
        digests[first].to_hex(),
        first + 1,
        digests[first + 1].to_hex()
    );
    Workspace::overwrite(&ws.archive().join("index/kinds/recipients"), forged);
    ws.write("later.txt", "added after the change\n");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "later.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = ws.run(&["cat", "later.txt", "--identity", "other.txt"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, "added after the change\n");
}

/// Whoever can write the archive directory can drop the newest line of the positions file
/// (each remaining line is true): `add --encrypt` then encrypts to the replaced set. `verify`,
/// which never uses the file, warns about every ciphertext claiming a replaced set.
#[test]
fn a_ciphertext_encrypted_to_a_replaced_set_is_reported_by_verify() {
    let (ws, _) = encrypted_archive(&[]);
    let other = age_identity(&ws, "other.txt");
    let (code, _, stderr) = ws.run(&["recipients", "set", "--recipient", &other]);
    assert_eq!(code, 0, "{stderr}");
    let (code, report, stderr) = ws.run(&["verify", "--trust", "signer.pub", "--json"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!report.contains("recipients-not-current"), "{report}");
    // Written honestly (it names both recipients records), then the newest line dropped.
    ws.write("first.txt", "to the new set\n");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "first.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let file = ws.archive().join("index/kinds/recipients");
    let text = std::fs::read_to_string(&file).expect("positions");
    let mut lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    lines.pop();
    Workspace::overwrite(&file, lines.join("\n") + "\n");
    ws.write("later.txt", "to the replaced set\n");
    let (code, _, stderr) = ws.run(&["add", "--encrypt", "later.txt"]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, _) = ws.run(&["cat", "later.txt", "--identity", "other.txt"]);
    assert_eq!(code, 2, "the attack worked: encrypted to the replaced set");
    ws.seal();
    let (code, report, stderr) = ws.run(&["verify", "--trust", "signer.pub", "--json"]);
    assert_eq!(code, 0, "a warning, not an accusation: {stderr}");
    let report: serde_json::Value = serde_json::from_str(&report).expect("json");
    let flagged: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "recipients-not-current")
        .collect();
    assert_eq!(flagged.len(), 1, "{report}");
}
