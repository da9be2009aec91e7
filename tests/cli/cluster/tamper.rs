//! Tampering through the S3 API, as an attacker holding the store's credentials would: each
//! change is caught by `verify --archive s3://…`, which trusts no cached replica.

use evidentia::remote::client::Put;
use evidentia::remote::segment;

use super::{codes, Site};

/// An archive of three documents (records 0-3 with the key), sealed (checkpoint 1), then one
/// more document (record 4, its own segment), sealed (checkpoint 2). Machine "a" holds a
/// replica of all of it.
fn sealed_twice(what: &str) -> Option<Site> {
    let site = Site::archive(what)?;
    site.write("case/a.txt", "Statement of witness A.\n");
    site.write("case/b.txt", "Statement of witness B.\n");
    site.write("c.txt", "Statement of witness C.\n");
    site.ok(&["add", "case", "c.txt"]);
    site.seal();
    site.write("d.txt", "Statement of witness D.\n");
    site.ok(&["add", "d.txt"]);
    site.seal();
    site.verified();
    Some(site)
}

/// `verify` of the store must fail with exit 1 and name `code` (or, when the fresh replica
/// cannot even be built, say `words` on stderr); never VERIFIED.
fn caught(site: &Site, code: &str, words: &str) -> serde_json::Value {
    let (exit, report, stderr) = site.verify_json();
    assert_eq!(exit, 1, "verify must fail ({code}): {report}\n{stderr}");
    let found = codes(&report);
    assert!(
        found.iter().any(|c| c == code)
            || (report.is_null() && !words.is_empty() && stderr.contains(words)),
        "expected {code} / '{words}'; codes {found:?}; stderr {stderr}; report {report}"
    );
    let (exit, stdout, _) = site.run_on("verifier", &["verify", "--trust", "signer.pub"]);
    assert_eq!(exit, 1);
    assert!(!stdout.contains("VERIFIED:"), "{stdout}");
    report
}

/// Same-length replacement of every occurrence of `from` in `bytes` (keeps CBOR well-formed).
fn replace(bytes: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut hit = false;
    for i in 0..out.len().saturating_sub(from.len() - 1) {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hit = true;
        }
    }
    assert!(hit, "{} not found", String::from_utf8_lossy(from));
    out
}

/// The content digest (hex, no prefix) of a document.
fn content_hex(site: &Site, path: &str) -> String {
    let docs = site.documents("b");
    let (_, content) = docs.iter().find(|(p, _)| p == path).expect("document");
    content.trim_start_matches("sha256:").to_string()
}

#[test]
fn a_content_object_changed_or_deleted_on_the_store_is_caught() {
    let Some(site) = sealed_twice("tamper-object") else {
        return;
    };
    let client = site.client();
    let a = Site::object_key(&content_hex(&site, "case/a.txt"));
    client
        .put(
            &a,
            b"Statement of witness A, edited.\n".to_vec(),
            Put::Overwrite,
        )
        .expect("overwrite object");
    caught(&site, "content-corrupt", "");
    // The honest owner's machine, whose replica holds no content, reads the store too.
    let (code, _, stderr) = site.run(&["cat", &content_hex(&site, "case/a.txt")]);
    assert_ne!(code, 0, "cat must refuse altered content: {stderr}");

    let c = content_hex(&site, "c.txt");
    client.delete(&Site::object_key(&c)).expect("delete object");
    let report = caught(&site, "content-missing", "");
    let missing = report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .find(|p| p["code"] == "content-missing")
        .expect("content-missing");
    assert!(
        missing["item"].as_str().expect("item").contains(&c),
        "{missing}"
    );
}

#[test]
fn a_record_rewritten_inside_a_well_formed_segment_is_caught() {
    let Some(site) = sealed_twice("tamper-record") else {
        return;
    };
    let segments = site.segments();
    let (_, from, records) = &segments[1];
    // The attacker renames a sealed document and re-encodes the segment correctly.
    let forged: Vec<Vec<u8>> = records
        .iter()
        .map(|r| {
            if r.windows(5).any(|w| w == b"c.txt") {
                replace(r, b"c.txt", b"x.txt")
            } else {
                r.clone()
            }
        })
        .collect();
    assert_ne!(&forged, records, "the record was changed");
    site.put_segment(*from, &forged);
    let report = caught(&site, "root-mismatch", "");
    assert!(!report.to_string().contains("x.txt\""), "{report}");
}

#[test]
fn a_missing_segment_or_a_missing_last_segment_is_caught() {
    let Some(site) = sealed_twice("tamper-gap") else {
        return;
    };
    let client = site.client();
    let segments = site.segments();
    assert!(segments.len() >= 3, "{} segments", segments.len());
    // The last segment (record 4, sealed by checkpoint 2) removed: the log is now shorter
    // than a signed checkpoint says.
    let (last, _, _) = segments.last().expect("a segment");
    let kept = client.get(last, segment::MAX_SEGMENT).expect("get");
    client.delete(last).expect("delete last");
    caught(&site, "checkpoint-beyond-log", "");
    client.put(last, kept, Put::Overwrite).expect("restore");
    site.verified();

    // A segment in the middle removed: a gap.
    let (middle, _, _) = &segments[1];
    client.delete(middle).expect("delete middle");
    caught(&site, "log-gap", "gap");
}

#[test]
fn an_altered_checkpoint_is_caught() {
    let Some(site) = sealed_twice("tamper-checkpoint") else {
        return;
    };
    let client = site.client();
    let listed = client.list("checkpoints/", None).expect("list");
    let first = &listed.first().expect("a checkpoint").key;
    let text = client.get(first, 1 << 20).expect("get");
    let text = String::from_utf8(text).expect("text");
    // The attacker claims one record fewer was sealed, keeping the signature line.
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    let size_line = lines
        .iter()
        .position(|l| l.parse::<u64>().is_ok())
        .expect("a size line");
    let size: u64 = lines[size_line].parse().expect("size");
    lines[size_line] = (size - 1).to_string();
    let forged = lines.join("\n") + "\n";
    client
        .put(first, forged.into_bytes(), Put::Overwrite)
        .expect("put");
    caught(&site, "signature-invalid", "");
}

#[test]
fn a_forged_segment_after_the_last_is_reported_unsealed_never_verified() {
    let Some(site) = sealed_twice("tamper-append") else {
        return;
    };
    let segments = site.segments();
    let next = super::assert_no_gap_or_overlap(&segments);
    let (_, _, records) = &segments[1];
    let template = records
        .iter()
        .find(|r| r.windows(5).any(|w| w == b"c.txt"))
        .expect("c.txt's record");
    site.put_segment(next, &[replace(template, b"c.txt", b"z.txt")]);
    // Records no checkpoint covers are what any writer leaves before sealing: reported as
    // not sealed (a warning), never counted among the sealed ones.
    let (_, report, stderr) = site.verify_json();
    let warned = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .any(|f| f["code"] == "records-unsealed");
    assert!(warned, "{report}\n{stderr}");
    assert_eq!(report["unsealed_records"], 1, "{report}");
    assert_eq!(report["sealed_records"], next, "{report}");
    let (_, stdout, _) = site.run_on("verifier", &["verify", "--trust", "signer.pub"]);
    assert!(
        stdout.contains(&format!("{next} sealed, 1 not sealed")),
        "{stdout}"
    );
}

#[test]
fn a_tampered_replica_does_not_fool_verify_and_a_good_one_does_not_hide_tampering() {
    let Some(site) = sealed_twice("tamper-replica") else {
        return;
    };
    // Machine "a"'s replica: its newest checkpoint file replaced by garbage, its log cut.
    let replica = site.replica("a");
    std::fs::write(replica.join("log/HEAD"), "2\n").expect("cut HEAD");
    let checkpoints = replica.join("checkpoints");
    for entry in std::fs::read_dir(&checkpoints).expect("checkpoints") {
        std::fs::write(entry.expect("entry").path(), "forged\n").expect("overwrite");
    }
    let (code, stdout, stderr) = site.run_on("a", &["verify", "--trust", "signer.pub"]);
    assert_eq!(code, 0, "the store is intact: {stdout}\n{stderr}");
    assert!(stdout.contains("VERIFIED:"), "{stdout}");

    // The store tampered while machine "b" holds a good replica: verify on "b" still fails.
    site.documents("b");
    let client = site.client();
    let a = Site::object_key(&content_hex(&site, "case/a.txt"));
    client
        .put(&a, b"edited\n".to_vec(), Put::Overwrite)
        .expect("overwrite");
    let (code, stdout, _) = site.run_on("b", &["verify", "--trust", "signer.pub"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(!stdout.contains("VERIFIED:"), "{stdout}");
}

#[test]
fn an_older_checkpoint_in_place_of_the_newest_or_an_overlapping_segment_is_caught() {
    let Some(site) = sealed_twice("tamper-substitute") else {
        return;
    };
    let client = site.client();
    let listed = client.list("checkpoints/", None).expect("list");
    let keys: Vec<&str> = listed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys.len(), 2, "{keys:?}");
    let (first, second) = (keys[0], keys[1]);
    let newest = client.get(second, 1 << 20).expect("get");
    // Checkpoint 1's genuine, validly signed bytes stored as checkpoint 2.
    let older = client.get(first, 1 << 20).expect("get");
    client
        .put(second, older, Put::Overwrite)
        .expect("substitute");
    let (exit, report, stderr) = site.verify_json();
    assert_eq!(exit, 1, "{report}\n{stderr}");
    assert!(
        codes(&report).iter().any(|c| c == "checkpoint-number"),
        "{report}"
    );
    client.put(second, newest, Put::Overwrite).expect("restore");
    site.verified();

    // A well-formed segment starting inside another one (it repeats record 2 onwards).
    let segments = site.segments();
    let (_, from, records) = &segments[1];
    assert!(records.len() >= 2);
    site.put_segment(from + 1, &records[1..]);
    caught(&site, "log-overlap", "overlap");
}

#[test]
fn an_attacker_sealing_with_their_own_key_is_not_verified() {
    let Some(site) = sealed_twice("tamper-own-key") else {
        return;
    };
    // Holding the store's credentials, the attacker simply runs evidentia on their machine.
    site.ok(&["key", "generate", "--out", "attacker", "--unencrypted"]);
    site.write("forged.txt", "a forged statement\n");
    let (code, stdout, stderr) = site.run_on("attacker", &["add", "forged.txt"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, stderr) = site.run_on("attacker", &["seal", "--key", "attacker.key"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (exit, report, stderr) = site.verify_json();
    assert_eq!(exit, 1, "{report}\n{stderr}");
    assert_eq!(report["verdict"], "failed", "{report}");
    assert!(
        codes(&report).iter().any(|c| c == "signature-missing"),
        "{report}"
    );
    let (_, stdout, _) = site.run_on("verifier", &["verify", "--trust", "signer.pub"]);
    assert!(!stdout.contains("VERIFIED:"), "{stdout}");
}
