//! The case title on an archive on the store: `init s3://… --name` logs the title through the
//! store, another machine and a fresh verifier replica see it, a change from another machine
//! is logged and shown once sealed.

use super::Site;

const TITLE: &str = "UA-BY children transfers — Діти";

#[test]
fn a_title_set_at_init_on_the_store_is_seen_by_every_machine() {
    let Some(site) = Site::new("title") else {
        return;
    };
    let out = site.ok(&["init", &site.url.clone(), "--name", TITLE]);
    assert!(out.contains("evidentia/UA-BY-children-transfers/"), "{out}");
    site.ok(&["key", "introduce", "--key", "signer.key"]);
    site.seal();
    let (code, report, stderr) = site.verify_json();
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(report["case"]["sealed"]["title"], TITLE, "{report}");
    assert_eq!(report["case"]["sealed"]["index"], 0, "{report}");
    // Another machine changes it; the sealed title is the old one until the next seal.
    let (code, _, stderr) = site.run_on("b", &["title", "Second title"]);
    assert_eq!(code, 0, "{stderr}");
    let (_, report, _) = site.verify_json();
    assert_eq!(report["case"]["sealed"]["title"], TITLE, "{report}");
    assert_eq!(
        report["case"]["unsealed"]["title"], "Second title",
        "{report}"
    );
    site.seal();
    let (code, report, stderr) = site.verify_json();
    assert_eq!(code, 0, "{report} {stderr}");
    assert_eq!(
        report["case"]["sealed"]["title"], "Second title",
        "{report}"
    );
    let (_, stdout, _) = site.run_on("c", &["log"]);
    assert!(
        stdout.contains("case \"Second title\" (record #2, sealed)"),
        "{stdout}"
    );
}
