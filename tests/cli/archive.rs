//! The happy path: init, add, seal, verify, and the read-only commands.

use crate::common::{added, Workspace};

#[test]
fn add_seal_verify_round_trip() {
    let ws = Workspace::new();
    ws.write("case/report.txt", "2,442 children were taken to Belarus.\n");
    ws.write("case/photos/scene.jpg", [0xffu8, 0xd8, 0xff, 0xe0]);
    let out = ws.add(&["case"]);
    let docs = added(&out);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].1, "case/photos/scene.jpg");
    assert_eq!(docs[1].1, "case/report.txt");
    let sealed = ws.seal();
    assert!(sealed.starts_with("checkpoint 1: 2 records"), "{sealed}");
    let (code, report) = ws.verify_json();
    assert_eq!(code, 0, "{report}");
    assert_eq!(report["ok"], true);
    assert_eq!(report["documents"], 2);
    assert_eq!(report["signers_authenticated"], true);
}
