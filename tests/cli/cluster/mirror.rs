//! `mirror` between a directory and the store: local → cluster → local is byte-identical and
//! verifies; a second run copies nothing; a diverged copy is refused, with the equivocation
//! report when two signed checkpoints conflict.

use std::path::Path;

use super::{tree_files, Site};

/// The archive files that must be byte-identical in every copy (the index and the replica's
/// own bookkeeping are derived, and may be laid out differently).
fn archive_files(root: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    tree_files(root)
        .into_iter()
        .filter(|(rel, _)| {
            rel == "archive.txt"
                || rel == "log/HEAD"
                || rel == "log/records"
                || rel.starts_with("log/tree/")
                || rel.starts_with("checkpoints/")
                || rel.starts_with("keys/")
        })
        .collect()
}

/// A local archive `src` with documents, an annotation, two checkpoints.
fn local_archive(site: &Site) {
    site.ok(&["init", "src"]);
    let on_src = |args: &[&str]| {
        let mut all = vec!["--archive", "src"];
        all.extend_from_slice(args);
        site.ok(&all);
    };
    on_src(&["key", "introduce", "--key", "signer.key"]);
    site.write("case/a.txt", "Statement of witness A.\n");
    site.write("case/video.bin", vec![7u8; 3 << 20]);
    on_src(&["add", "case"]);
    on_src(&["seal", "--key", "signer.key"]);
    on_src(&["annotate", "case/a.txt", "--body", "consistent"]);
    on_src(&["seal", "--key", "signer.key"]);
}

fn mirror_json(site: &Site, from: &str, to: &str) -> serde_json::Value {
    let (code, stdout, stderr) = site.run(&["mirror", from, to, "--json"]);
    assert_eq!(code, 0, "mirror {from} {to}: {stdout}\n{stderr}");
    serde_json::from_str(&stdout).expect("mirror --json")
}

#[test]
fn local_to_cluster_to_local_is_byte_identical_and_a_second_run_copies_nothing() {
    let Some(site) = Site::new("mirror") else {
        return;
    };
    local_archive(&site);
    let report = mirror_json(&site, "src", &site.url);
    assert_eq!(report["size_after"], 4, "{report}");
    assert_eq!(report["checkpoints"], 2, "{report}");
    site.verified();

    // Resumable: run again, nothing to copy.
    let again = mirror_json(&site, "src", &site.url);
    for field in ["records", "objects", "bytes", "checkpoints", "files"] {
        assert_eq!(again[field], 0, "{field}: {again}");
    }

    let report = mirror_json(&site, &site.url, "back");
    assert_eq!(report["size_after"], 4, "{report}");
    let (src, back) = (
        archive_files(&site.path("src")),
        archive_files(&site.path("back")),
    );
    assert_eq!(
        src.keys().collect::<Vec<_>>(),
        back.keys().collect::<Vec<_>>()
    );
    for (rel, bytes) in &src {
        assert!(back[rel] == *bytes, "{rel} differs after the round trip");
    }
    let (code, stdout, stderr) =
        site.run(&["--archive", "back", "verify", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    // The same documents, read from the copy.
    for name in ["case/a.txt", "case/video.bin"] {
        let docs = site.documents("a");
        let (_, digest) = docs.iter().find(|(p, _)| p == name).expect("listed");
        let out = site
            .cmd_on("a")
            .args(["--archive", "back", "cat", digest])
            .output()
            .expect("cat");
        assert!(out.status.success(), "cat {name} from the copy");
        let original = std::fs::read(site.path(name)).expect("original");
        assert!(out.stdout == original, "{name} differs in the copy");
    }
}

/// Mirrors `src` to the store, then records different things on each side; seals both when
/// `sealed`. Returns the store's segment keys before the refused mirror.
fn diverge(site: &Site, sealed: bool) -> Vec<String> {
    local_archive(site);
    mirror_json(site, "src", &site.url);
    site.write("only-local.txt", "recorded in the directory only\n");
    site.write("only-store.txt", "recorded on the store only\n");
    site.ok(&["--archive", "src", "add", "only-local.txt"]);
    site.ok(&["add", "only-store.txt"]);
    if sealed {
        site.ok(&["--archive", "src", "seal", "--key", "signer.key"]);
        site.seal();
    }
    site.segments().into_iter().map(|(k, _, _)| k).collect()
}

#[test]
fn mirror_into_a_copy_that_sealed_other_records_reports_the_equivocation() {
    let Some(site) = Site::new("mirror-fork") else {
        return;
    };
    let before = diverge(&site, true);
    let checkpoints = site.client().list("checkpoints/", None).expect("list");
    let (code, stdout, stderr) = site.run(&["mirror", "src", &site.url]);
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("EQUIVOCATION REPORT"), "{all}");
    assert!(all.contains("NOT MIRRORED"), "{all}");
    let after: Vec<String> = site.segments().into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(after, before, "nothing copied");
    let now = site.client().list("checkpoints/", None).expect("list");
    assert_eq!(
        now.iter().map(|c| (&c.key, c.size)).collect::<Vec<_>>(),
        checkpoints
            .iter()
            .map(|c| (&c.key, c.size))
            .collect::<Vec<_>>()
    );
    let docs: Vec<String> = site.documents("b").into_iter().map(|(p, _)| p).collect();
    assert!(!docs.iter().any(|p| p == "only-local.txt"), "{docs:?}");
}

#[test]
fn mirror_into_a_copy_with_other_unsealed_records_is_refused_without_accusation() {
    let Some(site) = Site::new("mirror-diverged") else {
        return;
    };
    let before = diverge(&site, false);
    let (code, stdout, stderr) = site.run(&["mirror", "src", &site.url]);
    let all = format!("{stdout}{stderr}");
    assert_eq!(code, 1, "{all}");
    assert!(all.contains("NOT MIRRORED"), "{all}");
    assert!(
        !all.contains("EQUIVOCATION"),
        "an unsealed divergence is no fork: {all}"
    );
    let after: Vec<String> = site.segments().into_iter().map(|(k, _, _)| k).collect();
    assert_eq!(after, before, "nothing copied");
}
